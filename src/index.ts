/**
 * tsublk: a Linux block driver in TypeScript over the kernel's ublk_drv.
 *
 * Write a target of your own by implementing `Operations` (the kernel's Rust blk-mq contract)
 * inside a `Target`, export it as a module's default, and serve it with
 * `sudo tsublk add -t ./my-target.js`:
 *
 * ```ts
 * import type { Target } from 'tsublk';
 *
 * // Config, TagSetData, QueueData, HwData (each queue's own), RequestData (each tag's own)
 * const target: Target<{ sizeBytes: number; logicalBlockSize: number }, undefined, undefined, { ios: number }, undefined> = {
 *   name: 'counting-null',
 *   type: 100,
 *   disk: (config) => config,
 *   tagSetData: () => undefined,
 *   queueData: () => undefined,
 *   operations: {
 *     newRequestData: () => undefined,
 *     initHctx: () => ({ ios: 0 }), // this queue's HwData, built in the queue's own thread
 *     exitHctx: () => undefined,
 *     queueRq(hw, _queue, rq) {
 *       hw.ios++;
 *       rq.end(rq.bytes);
 *     },
 *   },
 * };
 * export default target;
 * ```
 *
 * The io_uring module the driver stands on is exported too:
 *
 * ```ts
 * import { Ring } from 'tsublk';
 * const ring = Ring.create(8);
 * ring.prepNop(ring.getSqe(), 42);
 * ring.submitAndWait(1);
 * ring.drainCompletions((userData, result) => console.log(userData, result)); // 42 0
 * ring.close();
 * ```
 */
export { type Operations } from './blk/operations.js';
export { Request, ReqOp, ReqFlag, type RequestCompleter } from './blk/request.js';
export { type DiskParameters, validLogicalBlockSizes } from './blk/disk.js';
export { type Target, type OpenedTarget, type DeviceShape } from './blk/target.js';
export { type TargetOption, type TargetPlan, type CommonSettings, type OptionValues } from './blk/target-plan.js';
export { type QueueIo } from './blk/queue-io.js';
export { counterTable, type CounterTable } from './blk/counters.js';
export { UserError, type UserErrorCode } from './errors.js';
export { nullTarget, type NullConfig, NullQueue } from './targets/null.js';
export { Ring, type RingOptions, type CompletionHandler } from './uring/ring.js';
export { HostMemory } from '../native-bindings/host-memory.js';
export { SyscallError, errnoName } from '../native-bindings/errors.js';
