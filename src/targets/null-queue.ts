import type { QueueIo } from '../blk/queue-io.js';
import { ReqFlag, ReqOp, type Request } from '../blk/request.js';
import { BlkZone } from '../../native-bindings/blkzoned.js';
import { HostMemory } from '../../native-bindings/host-memory.js';
import type { MappedStore } from './memory-store.js';
import { PendingCompletions, RequeueList } from './null-completions.js';
import { type NullSettings, zoneGeometryOf } from './null-config.js';
import { ZoneTable } from './null-zones.js';
import { NullDeviceState } from './null-device-state.js';
import { WriteCache } from './write-cache.js';

/**
 * The hctx private data: per-queue counters (shown by `list -v` and `stats`), the requests this
 * queue has served but not yet ended (irqmode 1 and 2, the bandwidth cap), and this thread's
 * handles on what the device shares: its state, its store and its write cache.
 */
export class NullQueue {
  reads = 0;
  writes = 0;
  flushes = 0;
  discards = 0;
  others = 0;
  readBytes = 0;
  writeBytes = 0;
  /** Writes that came with FUA. */
  fuaWrites = 0;
  /** Zone appends (counted in writes too). */
  zoneAppends = 0;
  /** Requests failed for a bad range or while powered off. */
  injectedErrors = 0;
  /** timeout_inject: requests held until io_timeout, then ended with ETIMEDOUT. */
  timeouts = 0;
  /** requeue_inject: requests put back on the queue (each time). */
  requeues = 0;
  /** timeout_inject: the requests held, each until the io_timeout after it arrived. */
  readonly timedOut: PendingCompletions;
  /** requeue_inject: the requests to serve again at the next poll. */
  readonly requeued: RequeueList;
  /** Requests held for irqmode 1 (until commitRqs), irqmode 2 or the bandwidth cap (until their time). */
  readonly pending: PendingCompletions;
  /** Device-wide state (null without a runtime: a queue built outside a daemon, as in unit tests). */
  readonly state: NullDeviceState | null;
  /** memory_backed: where the data lives. */
  readonly store: MappedStore | null;
  readonly cache: WriteCache | null;
  /** With a cache: the durable copy's fd (discard punches it too). */
  readonly durableFd: number;
  /** zoned: the device's zones, and memory for this queue's zone reports (a view made once). */
  readonly zones: ZoneTable | null;
  private reportMemory: HostMemory | null = null;
  reportView: DataView | null = null;

  constructor(
    readonly queueId: number,
    readonly settings: NullSettings,
    readonly io: QueueIo,
  ) {
    this.pending = new PendingCompletions(io.depth);
    this.timedOut = new PendingCompletions(io.depth);
    this.requeued = new RequeueList(io.depth);
    const runtime = settings.runtime;
    this.state = runtime === undefined ? null : new NullDeviceState(runtime.shared);
    this.store =
      runtime === undefined || runtime.storeFd < 0
        ? null
        : { io, fd: runtime.storeFd, address: runtime.storeAddress, sizeBytes: settings.sizeBytes };
    this.cache =
      runtime?.cache == null || this.state === null
        ? null
        : new WriteCache(
            runtime.cache,
            this.state.mutex,
            runtime.storeAddress,
            runtime.durableAddress,
            settings.sizeBytes,
          );
    this.durableFd = runtime?.durableFd ?? -1;
    this.zones =
      runtime?.zones == null ? null : new ZoneTable(runtime.zones, this.state?.mutex ?? null, zoneGeometryOf(settings));
    if (this.zones !== null) {
      this.reportMemory = new HostMemory(this.zones.geometry.zones * BlkZone.size, `queue ${queueId} zone reports`);
      this.reportView = new DataView(
        this.reportMemory.bytes.buffer,
        this.reportMemory.bytes.byteOffset,
        this.reportMemory.length,
      );
    }
  }

  /** Releases the zone report memory (exitHctx). */
  release(): void {
    this.reportView = null;
    this.reportMemory?.free();
    this.reportMemory = null;
  }

  /** Where this queue's zone reports are built. */
  get reportAddress(): number {
    return this.reportMemory?.address ?? 0;
  }
}

/** Counts a request by its operation, for `stats`. */
export function count(hw: NullQueue, rq: Request<undefined>): void {
  switch (rq.op) {
    case ReqOp.Read:
      hw.reads++;
      hw.readBytes += rq.bytes;
      break;
    case ReqOp.ZoneAppend:
    case ReqOp.Write:
      if (rq.op === ReqOp.ZoneAppend) hw.zoneAppends++; // an append is a write too
      hw.writes++;
      hw.writeBytes += rq.bytes;
      if ((rq.flags & ReqFlag.Fua) !== 0) hw.fuaWrites++;
      break;
    case ReqOp.Flush:
      hw.flushes++;
      break;
    case ReqOp.Discard:
    case ReqOp.WriteZeroes:
      hw.discards++;
      break;
    default:
      hw.others++;
  }
}
