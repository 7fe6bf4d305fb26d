import type { QueueIo } from './queue-io.js';
import type { Request } from './request.js';

/**
 * The driver contract, after the kernel's Rust blk-mq `Operations` trait: one generic interface
 * whose type parameters name every piece of private data.
 *
 * - `TagSetData`: shared by all hardware queues of a device (in each queue's worker thread).
 * - `QueueData`: the disk's own data (the request queue's).
 * - `HwData`: one per hardware queue (hctx), built by `initHctx` when the queue is set up,
 *   handed to every per-queue callback, and released by `exitHctx` when the queue goes away.
 * - `RequestData`: one per tag, built once by `newRequestData` at queue setup.
 *
 * Each ublk queue is served by its own thread: every callback for a queue runs in that queue's
 * thread, one at a time, so `HwData` needs no locking.
 *
 * ```ts
 * const ops: Operations<void, void, { ios: number }, undefined> = {
 *   newRequestData: () => undefined,
 *   initHctx: () => ({ ios: 0 }),
 *   exitHctx: () => {},
 *   queueRq(hw, _queue, rq) {
 *     hw.ios++;
 *     rq.end(rq.bytes); // complete at once, like null_blk with irqmode 0
 *   },
 * };
 * ```
 */
export interface Operations<TagSetData, QueueData, HwData, RequestData> {
  /** Builds one request's private data; called once per tag when its queue is set up. */
  newRequestData(tagSetData: TagSetData, hctxIdx: number, tag: number): RequestData;

  /**
   * Builds hardware queue `hctxIdx`'s private data, before that queue serves any request. `io`
   * starts asynchronous I/O on the queue's own ring (keep it in HwData if the target needs it).
   */
  initHctx(tagSetData: TagSetData, hctxIdx: number, io: QueueIo): HwData;

  /** Releases what `initHctx` built; runs exactly once per queue, on every way down. */
  exitHctx(hwData: HwData, hctxIdx: number): void;

  /**
   * A request to serve. End it now with `rq.end(result)` or later (from `poll`, `commitRqs`,
   * `complete` or an I/O completion). `isLast` is true for the last request of a batch.
   */
  queueRq(hwData: HwData, queueData: QueueData, rq: Request<RequestData>, isLast: boolean): void;

  /** Runs after each batch of `queueRq` calls: the place to start work queued by the batch. */
  commitRqs?(hwData: HwData, queueData: QueueData): void;

  /**
   * The queue loop's hook for work that completes without a kernel event (requests whose time
   * has come). Returns nanoseconds until it wants to run again, or -1 for "only on events".
   */
  poll?(hwData: HwData): number;

  /**
   * One of the target's own I/Os for `rq` (started through QueueIo) completed, its result in
   * `rq.ioResult`: end the request here (`rq.end`) once all of its I/O is done.
   */
  complete?(rq: Request<RequestData>, hwData: HwData): void;

  /**
   * Stream I/O the target started through QueueIo.writeStream/readStream on `stream` completed
   * with `result` (bytes, or -errno).
   */
  streamDone?(hwData: HwData, stream: number, result: number): void;
}
