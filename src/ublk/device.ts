import { type QueuePlacement, queueCpus, queueCpusAtDepth } from './placement.js';
import os from 'node:os';
import { rmSync } from 'node:fs';
import type { Worker } from 'node:worker_threads';
import type { QueueWorkerPool } from './queue-workers.js';
import { O, close, open } from '../../native-bindings/libc.js';
import { UBLK_F } from '../../native-bindings/ublk_cmd.js';
import type { AnyTarget, OpenedTarget } from '../blk/target.js';
import { ControlCommandError, type ControlDevice } from './control.js';
import type { DeviceInfo } from './device-info.js';
import { UblkError } from './errors.js';
import { paramsForDisk } from './params.js';
import { QueueFlag, type QueueSetup } from './queue-setup.js';
import { createStatsFile, statsPath } from './stats.js';
import type { QueueMessage } from './queue-messages.js';
import { makeRunDir } from './run-file.js';
import { DeviceLog, type LogLevel } from './device-log.js';
import { charDevicePath, waitForAccess } from './device-nodes.js';
import { markStart } from '../start-trace.js';

export interface DeviceOptions {
  /** -1: the kernel picks. */
  readonly devId: number;
  readonly queues: number;
  /** Threads serving the queues (absent: one per queue); more only with UBLK_F_PER_IO_DAEMON. */
  readonly threads?: number | undefined;
  readonly depth: number;
  readonly maxIoBufBytes: number;
  /** UBLK_F_* to ask for. */
  readonly flags: number;
  readonly target: AnyTarget;
  /** How a worker loads the target: a built-in's name or a module's absolute path. */
  readonly targetModule: string;
  readonly targetConfig: unknown;
  /** Pin queue q's worker to CPU q alone (mod the CPUs there are), as the benchmark's C server
   * does; otherwise each worker runs on the CPUs GET_QUEUE_AFFINITY gives for its queue. */
  /** Where each queue's thread runs. */
  readonly placement: QueuePlacement;
  /** Where queue workers come from: started ahead (one per planned queue), or on demand. */
  readonly workers: QueueWorkerPool;
  /** What the device's log keeps (default info). */
  readonly logLevel?: LogLevel;
}

/** What the daemon knows of a running queue. */
export interface QueueInfo {
  readonly queueId: number;
  readonly tid: number;
  readonly cpus: readonly number[];
}

/**
 * A ublk device served by this process: ADD_DEV, SET_PARAMS, one worker per queue (each sets up
 * its hctx and fetches every tag), START_DEV; and on the way down STOP_DEV, workers drain and
 * exit, DEL_DEV. Whatever fails on the way up undoes what was done.
 */
export class UblkDevice {
  private stopping: Promise<void> | null = null;

  private constructor(
    private readonly control: ControlDevice,
    readonly info: DeviceInfo,
    private readonly charFd: number,
    private readonly statsFd: number,
    private readonly queueFlags: Int32Array,
    readonly queues: readonly QueueInfo[],
    private readonly exited: Promise<readonly string[]>,
    private readonly opened: OpenedTarget<unknown> | null,
    /** The target's configuration as the queues got it (completed by its open()). */
    readonly targetConfig: unknown,
    /** The device's log (/run/tsublk/<id>.log), which target failures reach from every queue. */
    readonly log: DeviceLog,
  ) {}

  /** Files the device owns (a /dev/shm backing), which go when it is deleted. */
  get ownedFiles(): readonly string[] {
    return this.opened?.ownedFiles ?? [];
  }

  get devId(): number {
    return this.info.devId;
  }

  static async create(control: ControlDevice, options: DeviceOptions): Promise<UblkDevice> {
    const info = control.addDevice({
      devId: options.devId,
      queues: options.queues,
      depth: options.depth,
      maxIoBufBytes: options.maxIoBufBytes,
      flags: options.flags,
    });
    markStart('daemon: ADD_DEV done');
    return UblkDevice.bringUp(control, info, options, false);
  }

  /**
   * Serves a device whose daemon died (QUIESCED or FAIL_IO) from this process: the kernel's user
   * recovery. START_USER_RECOVERY (once the dead daemon's /dev/ublkcN is released), new queues
   * with their own initHctx fetch every tag, END_USER_RECOVERY makes the device LIVE again.
   * `options.targetConfig` is the configuration the dead daemon's queues had (its record), which
   * the target reattaches to. A failure leaves the device as it found it, for another try or del.
   */
  static async recover(control: ControlDevice, devId: number, options: DeviceOptions): Promise<UblkDevice> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        control.startUserRecovery(devId);
        break;
      } catch (error) {
        // EBUSY: the dead daemon's char device is not released yet, or the kernel is still quiescing.
        if (!(error instanceof ControlCommandError && error.code === 'EBUSY') || Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    markStart('daemon: START_USER_RECOVERY done');
    return UblkDevice.bringUp(control, control.getDeviceInfo(devId), options, true);
  }

  private static async bringUp(
    control: ControlDevice,
    info: DeviceInfo,
    options: DeviceOptions,
    recovering: boolean,
  ): Promise<UblkDevice> {
    const devId = info.devId;
    let charFd = -1;
    let statsFd = -1;
    const flags = new SharedArrayBuffer(8);
    const queueFlags = new Int32Array(flags);
    const workers: Worker[] = [];
    /** Each worker's end: how it failed (queue, stack), or null when it ended cleanly. */
    const exits: Array<Promise<string | null>> = [];
    let opened: OpenedTarget<unknown> | null = null;
    const log = new DeviceLog(devId, options.logLevel);
    try {
      await waitForAccess(charDevicePath(devId), devId);
      // What all queues share (a memory target's backing) is acquired once, here.
      opened =
        options.target.open?.(options.targetConfig, devId, recovering, { queues: info.queues, depth: info.depth }) ??
        null;
      const targetConfig = opened?.config ?? options.targetConfig;
      // Recovering, the kernel kept the parameters (and refuses new ones on a used device).
      if (!recovering) control.setParams(devId, paramsForDisk(options.target.disk(targetConfig), info.maxIoBufBytes));
      charFd = open(charDevicePath(devId), O.RDWR);
      makeRunDir();
      // One thread per queue; with PER_IO_DAEMON a multiple, each serving a share of one queue's
      // tags. The kernel may give fewer queues than asked (at most one per CPU): each keeps the
      // threads per queue the plan asked for.
      const sharesPerQueue =
        (info.flags & UBLK_F.PER_IO_DAEMON) === 0
          ? 1
          : Math.max(1, Math.round((options.threads ?? options.queues) / options.queues));
      const threads = info.queues * sharesPerQueue;
      statsFd = createStatsFile(devId, threads);
      const ready: Array<Promise<QueueInfo>> = [];
      for (let thread = 0; thread < threads; thread++) {
        const queueId = thread % info.queues;
        const submitters = options.placement === 'pin' ? [] : control.queueAffinity(devId, queueId);
        const cpus = queueCpus(options.placement, queueId, submitters, os.availableParallelism());
        const setup: QueueSetup = {
          devId,
          queueId,
          depth: info.depth,
          charFd,
          maxIoBufBytes: info.maxIoBufBytes,
          userCopy: (info.flags & UBLK_F.USER_COPY) !== 0,
          zeroCopy: (info.flags & UBLK_F.AUTO_BUF_REG) !== 0,
          batchIo: (info.flags & UBLK_F.BATCH_IO) !== 0,
          zoned: (info.flags & UBLK_F.ZONED) !== 0,
          target: options.targetModule,
          targetConfig,
          cpus,
          cpusAtDepth: queueCpusAtDepth(options.placement, submitters, cpus),
          flags,
          statsFd,
          share: Math.floor(thread / info.queues),
          shares: sharesPerQueue,
          slot: thread,
          slots: threads,
        };
        const worker = options.workers.take(thread, setup);
        workers.push(worker);
        // A failure after the queue was ready (a target's queueRq threw) is kept for the log:
        // the daemon's stderr goes nowhere.
        let failure: string | null = null;
        worker.on('message', (message: QueueMessage) => {
          if (message.type === 'failed') failure = `queue ${queueId} failed: ${message.detail}`;
          if (message.type === 'target-failure') log.error(message.detail);
          if (message.type === 'warning') log.warn(`queue ${queueId}: ${message.detail}`);
        });
        worker.on('error', (error: Error) => {
          failure = `queue ${queueId}'s thread failed: ${error.stack ?? error.message}`;
        });
        exits.push(new Promise((resolve) => worker.once('exit', () => resolve(failure))));
        ready.push(
          new Promise((resolve, reject) => {
            worker.on('message', (message: QueueMessage) => {
              if (message.type === 'ready') resolve({ queueId, tid: message.tid, cpus });
              if (message.type === 'failed') reject(new UblkError(`queue ${queueId}: ${message.message}`));
            });
            worker.once('error', reject);
            worker.once('exit', (code) =>
              reject(new UblkError(`queue ${queueId}'s worker exited (${code}) before it was ready`)),
            );
          }),
        );
      }
      const queues = await Promise.all(ready);
      markStart('daemon: every queue ready');
      // Every tag is fetched: START_DEV (or END_USER_RECOVERY) can complete (it blocks this thread, not the queues').
      if (recovering) control.endUserRecovery(devId, process.pid);
      else control.startDevice(devId, process.pid);
      Atomics.store(queueFlags, QueueFlag.Started, 1);
      markStart(recovering ? 'daemon: END_USER_RECOVERY done (LIVE)' : 'daemon: START_DEV done (LIVE)');
      return new UblkDevice(
        control,
        control.getDeviceInfo(devId),
        charFd,
        statsFd,
        queueFlags,
        queues,
        Promise.all(exits).then((ends) => ends.filter((end) => end !== null)),
        opened,
        targetConfig,
        log,
      );
    } catch (error) {
      // Undo: wake the workers (they poll the stop flag until started), let them tear down.
      Atomics.store(queueFlags, QueueFlag.Stop, 1);
      await Promise.allSettled(exits);
      if (charFd >= 0) close(charFd);
      if (statsFd >= 0) {
        close(statsFd);
        rmSync(statsPath(devId), { force: true });
      }
      if (!recovering) {
        try {
          control.deleteDevice(devId);
        } catch {
          // Already gone; nothing more to undo.
        }
      }
      opened?.close(!recovering); // a recovering device keeps its backing for the next try
      throw error;
    }
  }

  /** STOP_DEV, wait for every queue to drain and exit, close /dev/ublkcN, DEL_DEV. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.stopOnce();
    return this.stopping;
  }

  private async stopOnce(): Promise<void> {
    try {
      this.control.stopDevice(this.devId);
      markStart('daemon: STOP_DEV done');
    } finally {
      // Stopping aborts every fetch (-ENODEV) and the queues exit; the flag covers any stragglers.
      Atomics.store(this.queueFlags, QueueFlag.Stop, 1);
      await this.exited;
      markStart('daemon: every queue worker exited');
      close(this.charFd);
      close(this.statsFd);
      rmSync(statsPath(this.devId), { force: true });
    }
    this.control.deleteDevice(this.devId);
    markStart('daemon: DEL_DEV done');
    this.opened?.close(true);
  }

  /**
   * The queues ended because the kernel quiesced the device (QUIESCE_DEV: tsublk restart or
   * quiesce): lets it go without stopping it. The queues are gone, /dev/ublkcN is closed (so a
   * new daemon can START_USER_RECOVERY) and the target is closed as for a crash, keeping what it
   * owns (a memory target's store) for the daemon that recovers the device.
   */
  async release(): Promise<void> {
    Atomics.store(this.queueFlags, QueueFlag.Stop, 1);
    await this.exited;
    close(this.charFd);
    close(this.statsFd);
    this.opened?.close(false);
  }

  /**
   * Changes the running target's settings (`tsublk set` / `tsublk power`); returns its
   * configuration as it now stands. Throws a one-line error when the target changes nothing.
   */
  changeTarget(values: Readonly<Record<string, number | string>>): unknown {
    if (this.opened?.change === undefined)
      throw new UblkError(`device ${this.devId}'s target has no settings that change while it runs`);
    return this.opened.change(values);
  }

  /**
   * `tsublk resize`: the target makes its backing `sizeBytes` long, then UPDATE_SIZE gives the
   * disk that capacity (so the disk never outgrows what backs it); returns the target's
   * configuration as it now stands. Refused, changing nothing, where the kernel or the target
   * cannot do it.
   */
  resize(sizeBytes: number, logicalBlockSize: number, truncate: boolean): unknown {
    this.control.assertSupported('UPDATE_SIZE');
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0 || sizeBytes % logicalBlockSize !== 0)
      throw new UblkError(
        `bad size ${sizeBytes}: give a whole number of the device's ${logicalBlockSize}-byte blocks, above 0`,
      );
    if (this.opened?.resize === undefined)
      throw new UblkError(`device ${this.devId}'s target cannot be resized: it has no resize()`);
    const config = this.opened.resize(sizeBytes, truncate);
    this.control.updateSize(this.devId, sizeBytes / 512);
    return config;
  }

  /** The target's own changes of its configuration (see OpenedTarget.watch). */
  watchTarget(listener: (config: unknown) => void): void {
    this.opened?.watch?.(listener);
  }

  /** Resolves when every queue worker has exited, with how each that failed did (its stack). */
  whenQueuesExit(): Promise<readonly string[]> {
    return this.exited;
  }
}
