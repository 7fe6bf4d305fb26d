import { MAP, type Mapping, PROT, mmap, munmap, viewOf } from '../../native-bindings/libc.js';
import { UBLK_QUEUE_DESC_STRIDE, UblksrvIoDesc } from '../../native-bindings/ublk_cmd.js';
import { TWO_32 } from '../../native-bindings/u64.js';
import type { Operations } from '../blk/operations.js';
import { ReqOp, type Request, type RequestCompleter } from '../blk/request.js';
import type { AnyTarget } from '../blk/target.js';
import { HostMemory } from '../../native-bindings/host-memory.js';
import { Ring } from '../uring/ring.js';
import { QueueFlag, type QueueSetup, traceHctx } from './queue-setup.js';
import type { QueueReports } from './queue-messages.js';
import { FailureReports, LEFT_OPEN_BY_ASYNC_QUEUE_RQ } from './failure-reports.js';
import { RingQueueIo } from './ring-queue-io.js';
import { QueueWaiter } from './queue-waiter.js';
import { PlacementByMode } from './placement-by-mode.js';
import { ServiceRecorder } from './service-recorder.js';
import { QueueCounter, type StatsMapping } from './stats.js';
import { openQueueSlot } from './queue-slot.js';
import { prepareQueueThread } from './queue-thread.js';
import { tagRequests } from './tag-requests.js';
import { UserDataKind, userDataKind, userDataTag } from './user-data.js';
import { type IoCommands, type RequestSink, TagState } from './io-commands.js';
import { queueCommands } from './queue-commands.js';

const PAGE = 4096;
const EIO = 5;
/** While the device is not started, the kernel cannot abort fetches: wake up to check the flags. */
const IDLE_WAIT_NS = 100e6;
/**
 * Once some fetches came back aborted (the device stops or is quiesced), how long the queue waits
 * for the rest. A fetch issued as the kernel was cancelling (COMMIT_AND_FETCH racing QUIESCE_DEV)
 * may never come back: when nothing arrives in this time and no request is left to serve, the
 * queue ends, and closing its ring cancels what is still fetching.
 */
const DRAIN_WAIT_NS = 50e6;
function nextPowerOfTwo(value: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(1, value)));
}

/**
 * One ublk queue served by one thread: the hardware context (hctx). It owns its ring, its view
 * of the kernel's request descriptors, one Request per tag and the target's HwData.
 */
export class UblkQueue<HwData = unknown> implements RequestCompleter, RequestSink {
  readonly queueId: number;
  private readonly depth: number;
  private readonly ops: Operations<unknown, unknown, HwData, unknown>;
  private readonly queueData: unknown;
  private readonly hwData: HwData;
  private readonly ring: Ring;
  private readonly descriptors: Mapping;
  /** SAFETY: a view of the read-only descriptor mapping, valid until teardown() unmaps it. */
  private descriptorWords: Uint32Array;
  private readonly buffers: HostMemory | null;
  private readonly requests: Request<unknown>[];
  /** How requests come from the kernel and results go back: per tag, or in batches. */
  private readonly commands: IoCommands;
  /** The commands' TagState per tag. */
  private readonly tagStates: Uint8Array;
  private readonly flags: Int32Array;
  /** Requests handed to the target this round (serve()), for the wait policy. */
  private servedThisRound = 0;
  /** Placement auto: the thread moves with its wait mode (placement-by-mode.ts). */
  private readonly placement: PlacementByMode | null;
  private tornDown = false;
  private readonly stats: StatsMapping | null;
  /** This queue's counters: a view of its slot in the stats file (or private memory). */
  private counters: Float64Array;
  private targetCounters: Float64Array;
  private readonly publishStatistics: ((hwData: HwData, out: Float64Array) => void) | null;
  private readonly failureReports: FailureReports;
  /** The target's I/O on this queue's ring (its allocations live until the ring is closed). */
  private readonly queueIo: RingQueueIo;
  /** Times each request from the wake that brought it to its commit (the stats slot's histogram). */
  private readonly serviceTimes: ServiceRecorder;

  /** `reports`: where a target callback's failure (with its stack) and the queue's warnings go: the device's log. */
  constructor(setup: QueueSetup, target: AnyTarget, reports: QueueReports) {
    this.failureReports = new FailureReports(reports.targetFailure);
    this.serviceTimes = new ServiceRecorder(setup.depth);
    this.queueId = setup.queueId;
    this.depth = setup.depth;
    this.flags = new Int32Array(setup.flags);
    this.ops = target.operations as Operations<unknown, unknown, HwData, unknown>;
    prepareQueueThread(setup.cpus);
    this.placement =
      setup.cpusAtDepth === null ? null : new PlacementByMode(setup.cpus, setup.cpusAtDepth, reports.warning);

    const built: Array<() => void> = [];
    try {
      const descriptorBytes = Math.ceil((setup.depth * UblksrvIoDesc.size) / PAGE) * PAGE;
      this.descriptors = mmap(
        descriptorBytes,
        PROT.READ,
        MAP.SHARED | MAP.POPULATE,
        setup.charFd,
        setup.queueId * UBLK_QUEUE_DESC_STRIDE,
        `/dev/ublkc${setup.devId} descriptors of queue ${setup.queueId}`,
      );
      built.push(() => munmap(this.descriptors));
      this.descriptorWords = new Uint32Array(viewOf(this.descriptors));

      const entries = nextPowerOfTwo(setup.depth * 2);
      this.ring = Ring.create(entries, { cqEntries: entries * 2, coopTaskrun: true, singleIssuer: true });
      built.push(() => this.ring.close());
      this.ring.registerFiles([setup.charFd]); // fixed file 0: no fd lookup per command
      // Zero copy: the kernel puts each request's pages at fixed buffer `tag` of this ring.
      if (setup.zeroCopy) this.ring.registerSparseBuffers(setup.depth);

      this.buffers =
        setup.userCopy || setup.zeroCopy
          ? null
          : new HostMemory(setup.depth * setup.maxIoBufBytes, `queue ${setup.queueId} buffers`);
      if (this.buffers !== null) {
        const buffers = this.buffers;
        built.push(() => buffers.free());
      }
      const tagSetData: unknown = target.tagSetData(setup.targetConfig);
      this.queueData = target.queueData(setup.targetConfig);
      const { requests, commandAddresses } = tagRequests(
        setup.queueId,
        setup.depth,
        this.buffers,
        setup.maxIoBufBytes,
        (tag) => this.ops.newRequestData(tagSetData, setup.queueId, tag),
        this,
      );
      this.requests = requests;
      this.commands = queueCommands(setup, this.ring, commandAddresses, this);
      const commands = this.commands;
      built.push(() => commands.release()); // before ring.close() here: nothing was sent yet
      this.tagStates = this.commands.states;
      const slot = openQueueSlot(setup.statsFd, setup.slots, setup.slot, target);
      this.stats = slot.stats;
      if (slot.stats !== null) built.push(() => slot.stats?.unmap());
      this.counters = slot.counters;
      this.targetCounters = slot.targetCounters;
      this.publishStatistics =
        target.statistics === undefined
          ? null
          : (target.statistics.read as (hwData: HwData, out: Float64Array) => void);
      const queueIo = new RingQueueIo(
        this.ring,
        setup.queueId,
        setup.charFd,
        setup.depth,
        this.buffers === null ? null : { address: this.buffers.address, bytesPerTag: setup.maxIoBufBytes },
        setup.zeroCopy,
        (message) => this.failureReports.report(`queue ${setup.queueId}: ${message}`),
      );
      this.queueIo = queueIo;
      built.push(() => queueIo.release()); // before ring.close() here: what initHctx queued was never submitted
      this.hwData = this.ops.initHctx(tagSetData, setup.queueId, queueIo);
      traceHctx('init', setup.queueId);
    } catch (error) {
      for (const undo of built.reverse()) undo();
      throw error;
    }
    try {
      this.commands.start();
    } catch (error) {
      this.teardown();
      throw error;
    }
  }

  /** RequestCompleter: the target ended request `tag`; commit it and fetch the next one. */
  completeRequest(tag: number, result: number): void {
    if (this.tagStates[tag] !== TagState.Serving)
      throw new Error(`queue ${this.queueId}: request ${tag} ended twice or never started`);
    const counters = this.counters;
    counters[QueueCounter.Completed] = (counters[QueueCounter.Completed] ?? 0) + 1;
    if (result < 0) counters[QueueCounter.Errors] = (counters[QueueCounter.Errors] ?? 0) + 1;
    this.serviceTimes.ended(tag);
    const rq = this.requests[tag];
    // UBLK_F_ZONED: a zone append's result carries where the appended data went.
    this.commands.commit(tag, result, rq !== undefined && rq.op === ReqOp.ZoneAppend ? rq.zoneAppendSector : -1);
  }

  /** RequestSink: the kernel handed over request `tag`; its descriptor says what it is. */
  serve(tag: number, last: boolean): void {
    // SAFETY: the tag's 24-byte descriptor lies inside the mapping (tag < depth).
    const words = this.descriptorWords;
    const base = tag * (UblksrvIoDesc.size / 4);
    const rq = this.requests[tag];
    if (rq === undefined) return;
    const opFlags = words[base] ?? 0;
    rq.op = opFlags & 0xff;
    rq.flags = opFlags & ~0xff;
    rq.sectors = words[base + 1] ?? 0;
    rq.startSector = (words[base + 2] ?? 0) + (words[base + 3] ?? 0) * TWO_32;
    this.tagStates[tag] = TagState.Serving;
    this.serviceTimes.arrived(tag);
    const counters = this.counters;
    counters[QueueCounter.Requests] = (counters[QueueCounter.Requests] ?? 0) + 1;
    this.servedThisRound++;
    // try/catch costs nothing until something throws; a target's throw fails only its request.
    try {
      const returned: unknown = this.ops.queueRq(this.hwData, this.queueData, rq, last);
      if (returned !== undefined) this.checkReturned(rq, returned);
    } catch (error) {
      this.targetFailed('queueRq', rq, error);
    }
  }

  /**
   * A target callback threw while serving `rq`: the request fails with EIO if the target left it
   * open, the failure is counted (stats: target_failures) and reported with its stack, and the
   * queue goes on serving the others.
   */
  private targetFailed(callback: string, rq: Request<unknown>, error: unknown): void {
    const counters = this.counters;
    counters[QueueCounter.TargetFailures] = (counters[QueueCounter.TargetFailures] ?? 0) + 1;
    const open = this.tagStates[rq.tag] === TagState.Serving;
    if (open) this.completeRequest(rq.tag, -EIO);
    this.failureReports.targetFailed(this.queueId, callback, rq, open, error);
  }

  /**
   * queueRq returned something: a promise never settles while this thread serves (the loop never
   * yields to the event loop), so a request an async queueRq left open would wait forever. Fail it.
   */
  private checkReturned(rq: Request<unknown>, returned: unknown): void {
    if (typeof (returned as { then?: unknown }).then === 'function')
      (returned as Promise<unknown>).then(undefined, () => undefined); // its rejection is reported here, not as unhandled
    if (this.tagStates[rq.tag] !== TagState.Serving) return; // ended before it returned: no harm done
    this.targetFailed('queueRq', rq, new Error(LEFT_OPEN_BY_ASYNC_QUEUE_RQ));
  }

  /** Serves requests until the device stops (its commands come back aborted) or the daemon says stop. */
  run(): void {
    const ring = this.ring;
    const ops = this.ops;
    const hw = this.hwData;
    const queueData = this.queueData;
    const requests = this.requests;
    const commands = this.commands;
    const counters = this.counters;
    const publish = this.publishStatistics;
    const complete = ops.complete?.bind(ops);
    const streamDone = ops.streamDone?.bind(ops);
    const waiter = new QueueWaiter(ring, counters, commands.batchedByKernel, this.placement);
    const serviceTimes = this.serviceTimes;
    let reaped = 0;
    while (!commands.ended() && Atomics.load(this.flags, QueueFlag.Stop) === 0) {
      const pollNs = ops.poll === undefined ? -1 : ops.poll(hw);
      const idle =
        Atomics.load(this.flags, QueueFlag.Started) === 0 ? IDLE_WAIT_NS : commands.ending() ? DRAIN_WAIT_NS : -1;
      serviceTimes.record(counters); // the requests ended since the last wait: their commits go out now
      commands.flush();
      waiter.wait(pollNs < 0 ? idle : idle < 0 ? pollNs : Math.min(pollNs, idle), this.servedThisRound, reaped);
      this.servedThisRound = 0;
      const end = ring.completionEnd();
      let at = ring.completionStart();
      reaped = (end - at) >>> 0;
      if (at === end) {
        if (commands.ending() && !this.anyServing()) break; // the device is going (DRAIN_WAIT_NS)
        continue;
      }
      serviceTimes.woke();
      for (; at !== end; at = (at + 1) >>> 0) {
        const userData = ring.cqeUserDataLow(at);
        const result = ring.cqeResult(at);
        const kind = userDataKind(userData);
        if (kind === UserDataKind.TargetStream) {
          this.streamCompleted(streamDone, userDataTag(userData), result);
          continue;
        }
        if (kind !== UserDataKind.TargetIo) {
          commands.completed(userData, result, ring.cqeFlags(at), (at + 1) >>> 0 === end);
          continue;
        }
        const tag = userDataTag(userData);
        const rq = requests[tag];
        if (rq === undefined || complete === undefined)
          throw new Error(
            `queue ${this.queueId}: target I/O for tag ${tag} completed, but the target has no complete()`,
          );
        rq.ioResult = result;
        try {
          complete(rq, hw);
        } catch (error) {
          this.targetFailed('complete', rq, error);
        }
      }
      ring.completionsConsumed(end);
      if (ops.commitRqs !== undefined) ops.commitRqs(hw, queueData);
      if (publish !== null) publish(hw, this.targetCounters);
    }
    serviceTimes.record(counters);
  }

  /** The target's stream I/O completed: its streamDone runs; a throw is counted and logged, the queue goes on. */
  private streamCompleted(
    streamDone: ((hw: HwData, stream: number, result: number) => void) | undefined,
    stream: number,
    result: number,
  ): void {
    if (streamDone === undefined)
      throw new Error(`queue ${this.queueId}: stream I/O ${stream} completed, but the target has no streamDone()`);
    try {
      streamDone(this.hwData, stream, result);
    } catch (error) {
      const counters = this.counters;
      counters[QueueCounter.TargetFailures] = (counters[QueueCounter.TargetFailures] ?? 0) + 1;
      const stack = error instanceof Error ? (error.stack ?? error.message) : String(error);
      this.failureReports.report(`queue ${this.queueId}: the target's streamDone threw for stream ${stream}: ${stack}`);
    }
  }

  /**
   * The queue failed: ends with EIO every request still with the target, before its ring closes.
   * On Linux 7.x (PER_IO_DAEMON) the kernel aborts a request handed to the server only when
   * /dev/ublkcN closes, which the daemon keeps open while it stops the device: without this, the
   * stop would wait for those requests forever (seen: a commitRqs that threw hung del on 7.2).
   */
  failServing(): void {
    if (this.tornDown) return;
    for (let tag = 0; tag < this.depth; tag++)
      if (this.tagStates[tag] === TagState.Serving) this.commands.commit(tag, -EIO, -1);
    this.serviceTimes.record(this.counters);
    this.commands.flush();
    this.ring.submit();
  }

  /** Whether a request is still with the target (rare: only while the device goes away). */
  private anyServing(): boolean {
    return this.tagStates.includes(TagState.Serving);
  }

  /** Releases everything, exitHctx first; safe to call twice (it acts once). */
  teardown(): void {
    if (this.tornDown) return;
    this.tornDown = true;
    try {
      this.ops.exitHctx(this.hwData, this.queueId);
      traceHctx('exit', this.queueId);
    } finally {
      this.ring.close(); // cancels any command still in flight
      this.commands.release(); // after the ring: the kernel may write fetched tags until it closes
      this.queueIo.release(); // the target's allocations, likewise
      this.descriptorWords = new Uint32Array(0);
      munmap(this.descriptors);
      this.buffers?.free();
      this.counters = this.targetCounters = new Float64Array(0);
      this.stats?.unmap();
    }
  }
}
