// What one NBD connection sends: iovecs (request headers, write data straight from the requests'
// buffers) in two halves, one written by the writev in flight while the other gathers the next
// batch. One write at a time, so bytes never interleave on the stream; a short one continues
// from where it stopped. With zero copy a write's data is no memory of ours but its request's
// pages in the ring: that entry goes alone, by a write from the request, between the writevs of
// the headers around it. Nothing here allocates after construction.
import { TWO_32, high32 } from '../../../native-bindings/u64.js';
import type { QueueIo } from '../../blk/queue-io.js';
import type { Request } from '../../blk/request.js';

/** struct iovec: base, length (u64 each). */
const IOVEC_BYTES = 16;
/** The most iovecs one writev takes (IOV_MAX). */
const IOV_MAX = 1024;

export class SendBatches {
  /** SAFETY: a view of memory from io.allocate, which outlives every writev naming it. */
  private readonly iovecs: { readonly address: number; readonly bytes: Uint8Array };
  private readonly words: Uint32Array;
  /** Per entry: the request whose data it is (zero copy: its base is an offset into the request), or null (memory). */
  private readonly requests: Array<Request<unknown> | null>;
  private readonly halfCapacity: number;
  private gathering = 0;
  private gathered = 0;
  /** The half the writev in flight writes, or -1. */
  private sendingHalf = -1;
  /** Index (in the sending half) of the first iovec not yet written, and the half's count. */
  private sendFirst = 0;
  private sendCount = 0;
  /** Index (in the sending half) after the last entry the write in flight was given. */
  private sendEnd = 0;
  /** Writevs the socket took only in part (continued from where they stopped). */
  shortSends = 0;

  /** Room for `depth` requests a batch, each at most two iovecs (header, data). */
  constructor(io: QueueIo, depth: number) {
    this.halfCapacity = 2 * depth;
    this.iovecs = io.allocate(2 * this.halfCapacity * IOVEC_BYTES, 'nbd iovecs');
    this.words = new Uint32Array(this.iovecs.bytes.buffer, this.iovecs.bytes.byteOffset, this.iovecs.bytes.length / 4);
    this.requests = new Array<Request<unknown> | null>(2 * this.halfCapacity).fill(null);
  }

  /** Whether a writev is in flight. */
  get sending(): boolean {
    return this.sendingHalf >= 0;
  }

  /** `length` bytes at `address` join the batch being gathered. */
  append(address: number, length: number): void {
    this.appendEntry(null, address, length);
  }

  /** A write's data joins the batch from its request's pages in the ring (zero copy: QueueIo.zeroCopy). */
  appendRequestData(rq: Request<unknown>): void {
    this.appendEntry(rq, 0, rq.bytes);
  }

  private appendEntry(rq: Request<unknown> | null, base: number, length: number): void {
    const entry = this.gathering * this.halfCapacity + this.gathered;
    const w = this.words;
    w[entry * 4] = base >>> 0;
    w[entry * 4 + 1] = high32(base);
    w[entry * 4 + 2] = length;
    w[entry * 4 + 3] = 0;
    this.requests[entry] = rq;
    this.gathered++;
  }

  /** The gathered batch becomes the one to write; false (nothing changes) while one is in flight or none is gathered. */
  startBatch(): boolean {
    if (this.sendingHalf >= 0 || this.gathered === 0) return false;
    this.sendingHalf = this.gathering;
    this.sendFirst = 0;
    this.sendCount = this.gathered;
    this.gathering ^= 1;
    this.gathered = 0;
    return true;
  }

  /**
   * Starts the write of what is left of the batch, as stream `stream` of socket `fd`: a writev
   * of the memory entries up to the next request's pages, or those pages (zero copy).
   */
  write(io: QueueIo, stream: number, fd: number): void {
    const first = this.sendingHalf * this.halfCapacity + this.sendFirst;
    const rq = this.requests[first] ?? null;
    const w = this.words;
    if (rq !== null) {
      this.sendEnd = this.sendFirst + 1;
      const offset = (w[first * 4] ?? 0) + (w[first * 4 + 1] ?? 0) * TWO_32;
      io.writeStreamFromRequest(stream, fd, rq, w[first * 4 + 2] ?? 0, offset);
      return;
    }
    const limit = Math.min(IOV_MAX, this.sendCount - this.sendFirst);
    let count = 1;
    while (count < limit && this.requests[first + count] === null) count++;
    this.sendEnd = this.sendFirst + count;
    io.writeStream(stream, fd, this.iovecs.address + first * IOVEC_BYTES, count);
  }

  /** The write wrote `bytes` (> 0): true when the batch is all written, false when write() must go on. */
  written(bytes: number): boolean {
    // Skip what was written; a partly written iovec starts further on.
    const w = this.words;
    let left = bytes;
    let i = this.sendingHalf * this.halfCapacity + this.sendFirst;
    const end = this.sendingHalf * this.halfCapacity + this.sendCount;
    while (i < end && left >= (w[i * 4 + 2] ?? 0)) {
      left -= w[i * 4 + 2] ?? 0;
      i++;
    }
    if (i < end && left > 0) {
      const base = (w[i * 4] ?? 0) + (w[i * 4 + 1] ?? 0) * TWO_32 + left;
      w[i * 4] = base >>> 0;
      w[i * 4 + 1] = high32(base);
      w[i * 4 + 2] = (w[i * 4 + 2] ?? 0) - left;
    }
    const wroteAll = i - this.sendingHalf * this.halfCapacity >= this.sendEnd;
    this.sendFirst = i - this.sendingHalf * this.halfCapacity;
    if (this.sendFirst < this.sendCount) {
      if (!wroteAll) this.shortSends++;
      return false;
    }
    this.sendingHalf = -1;
    return true;
  }

  /** Forgets both halves (a lost socket): its requests are gathered again for the next one. */
  reset(): void {
    this.sendingHalf = -1;
    this.gathered = 0;
  }
}
