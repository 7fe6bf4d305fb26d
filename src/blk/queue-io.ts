import type { Request } from './request.js';

/**
 * The I/O a target does for a request on its hardware queue (handed to `initHctx`).
 *
 * User copy is synchronous: the kernel has no non-blocking path for /dev/ublkcN, so io_uring
 * would hand every such read or write to an io-wq thread (measured: a thread hop per I/O).
 * File I/O is asynchronous, on the queue's own io_uring: each completion sets `rq.ioResult` and
 * calls the target's `complete(rq, hwData)` in the queue's thread; the I/O is submitted with the
 * queue's next batch. Addresses must stay valid until that completion.
 */
export interface QueueIo {
  /** The queue's depth: the most requests it holds at once (tags 0 … depth-1). */
  readonly depth: number;
  /**
   * Zero copy (UBLK_F_AUTO_BUF_REG): each request's pages are a fixed buffer of the queue's ring
   * and there is no per-tag buffer (`rq.bufferAddress` is 0). Data moves by the *Request calls,
   * file or stream, and small pieces by copyToRequest/copyFromRequest (user copy comes with it).
   */
  readonly zeroCopy: boolean;
  /**
   * User copy, now: `length` bytes of the request's data (a WRITE's), from byte `offset` of it,
   * into memory at `address`. Returns the bytes copied or -errno.
   */
  copyFromRequest(rq: Request<unknown>, address: number, length: number, offset: number): number;
  /** User copy, now: `length` bytes at `address` into the request's pages (a READ's data) at byte `offset` of it. Returns bytes or -errno. */
  copyToRequest(rq: Request<unknown>, address: number, length: number, offset: number): number;
  /** read(2) of `length` bytes at `position` of file `fd` into memory at `address`. */
  readFile(rq: Request<unknown>, fd: number, address: number, length: number, position: number): void;
  /** write(2) of `length` bytes from memory at `address` to `position` of file `fd`. */
  writeFile(rq: Request<unknown>, fd: number, address: number, length: number, position: number): void;
  /** fsync(2) of file `fd`, or fdatasync(2) with `dataOnly`. */
  syncFile(rq: Request<unknown>, fd: number, dataOnly: boolean): void;
  /**
   * Makes the request buffers (the copy data path's per-tag buffers) fixed buffers of the
   * queue's ring, so readIntoRequest/writeFromRequest pin no pages per I/O. Call it from
   * initHctx (before the queue serves). Returns false where they cannot be (the user copy path
   * has none; an unprivileged process may lack the locked-memory allowance): the calls still work.
   */
  useFixedRequestBuffers(): boolean;
  /**
   * File I/O straight into the request's own data (a READ's): `length` bytes at `position` of
   * file `fd`, to byte `offset` of the request. Copy data path only (the planner asks for it).
   */
  readIntoRequest(rq: Request<unknown>, fd: number, length: number, position: number, offset: number): void;
  /** File I/O straight from the request's data (a WRITE's); `durable`: RWF_DSYNC, this write alone reaches stable storage (FUA). */
  writeFromRequest(
    rq: Request<unknown>,
    fd: number,
    length: number,
    position: number,
    offset: number,
    durable: boolean,
  ): void;
  /** fallocate(2) of file `fd`: FALLOC_FL_* `mode` (punch a hole, zero a range) over `length` bytes at `position`. */
  fallocateFile(rq: Request<unknown>, fd: number, mode: number, position: number, length: number): void;
  /**
   * Stream I/O that belongs to no one request (a connection the target keeps in its HwData):
   * writev(2) of `count` iovecs (struct iovec, at `iovecs`) to `fd`. Its completion calls the
   * target's `streamDone(hwData, stream, result)`; `stream` (0-65535) says which of its streams.
   * A short write is the target's to continue.
   */
  writeStream(stream: number, fd: number, iovecs: number, count: number): void;
  /** read(2) of up to `length` bytes from `fd` (a socket) into `address`; completes as writeStream does. */
  readStream(stream: number, fd: number, address: number, length: number): void;
  /**
   * Stream I/O straight into a request's data (a READ's): read(2) of up to `length` bytes from
   * `fd` (a socket) to byte `offset` of `rq`; completes as writeStream does. Copy data path or zero copy.
   */
  readStreamIntoRequest(stream: number, fd: number, rq: Request<unknown>, length: number, offset: number): void;
  /** Stream I/O straight from a request's data (a WRITE's): write(2) of `length` bytes from byte `offset` of `rq` to `fd`. */
  writeStreamFromRequest(stream: number, fd: number, rq: Request<unknown>, length: number, offset: number): void;
  /**
   * Memory at a fixed address for the kernel to read or write (headers, iovecs, a receive
   * buffer), freed only after the queue's ring is closed: an I/O still in flight when exitHctx
   * runs never lands in memory given back.
   */
  allocate(length: number, what: string): { readonly address: number; readonly bytes: Uint8Array };
  /** A line in the device's log (rate-limited like target failures): an event the target saw (a lost connection). */
  log(message: string): void;
  /**
   * Starts the next I/O queued only once the last one queued has succeeded (IOSQE_IO_LINK); if it
   * fails (a short read or write fails too), the next completes with -ECANCELED. Call roomFor
   * before a chain.
   */
  linkLast(): void;
  /**
   * Makes room for `count` I/Os queued next, so a chain of them reaches the kernel whole: what is
   * queued goes first where too few are free. The ring holds 2 × depth I/Os at least.
   */
  roomFor(count: number): void;
}
