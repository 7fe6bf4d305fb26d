/**
 * tsublk: a Linux block driver in TypeScript over the kernel's ublk_drv.
 *
 * This entry point exports the io_uring module that the driver is built on:
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
export { Ring, type RingOptions, type CompletionHandler } from './uring/ring.js';
export { SyscallError, errnoName } from '../native-bindings/errors.js';
