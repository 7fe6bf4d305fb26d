// Where one NBD connection's requests keep their data: the per-tag buffer of the copy data path,
// or, with zero copy (QueueIo.zeroCopy), the request's pages in the queue's ring, which only
// QueueIo can reach (user copy for small pieces, the ring for large ones).
import { memcpy, memset } from '../../../native-bindings/libc.js';
import type { QueueIo } from '../../blk/queue-io.js';
import type { Request } from '../../blk/request.js';
import type { SendBatches } from './send-batches.js';

/** Zeros copied into a request for a hole, with zero copy (no buffer of ours to memset), at most this much at a time. */
const ZEROS_BYTES = 64 * 1024;
/**
 * With zero copy, a write this small or smaller is copied out of its request (user copy) into a
 * per-tag staging slot and rides in the writev with the headers around it: sent from its pages it
 * would be a write of its own (TCG, sid 7.2, 4k random writes at depth 32 with 2 jobs: 0.54x the
 * kernel's nbd client that way, against 1.56x on the copy path).
 */
const STAGED_WRITE_BYTES = 32 * 1024;

export class RequestData {
  /** SAFETY (both): memory from io.allocate, which outlives every I/O naming it. Zero copy only, else null. */
  private readonly staging: { readonly address: number } | null;
  private readonly zeros: { readonly address: number } | null;

  constructor(
    private readonly io: QueueIo,
    depth: number,
  ) {
    this.staging = io.zeroCopy ? io.allocate(depth * STAGED_WRITE_BYTES, 'nbd staged writes') : null;
    const zeros = io.zeroCopy ? io.allocate(ZEROS_BYTES, 'nbd zeros') : null;
    zeros?.bytes.fill(0);
    this.zeros = zeros;
  }

  /**
   * Before a write is sent: with zero copy a small one's data is copied out to its tag's staging
   * slot (once: a resend after a reconnect uses it again). Returns bytes copied or -errno, or
   * `rq.bytes` when there is nothing to copy.
   */
  stage(rq: Request<unknown>): number {
    if (this.staging === null || rq.bytes > STAGED_WRITE_BYTES) return rq.bytes;
    return this.io.copyFromRequest(rq, this.staging.address + rq.tag * STAGED_WRITE_BYTES, rq.bytes, 0);
  }

  /** A write's data into the batch: its buffer, its staged copy, or its pages (zero copy). */
  appendWrite(batches: SendBatches, rq: Request<unknown>): void {
    if (this.staging === null) batches.append(rq.bufferAddress, rq.bytes);
    else if (rq.bytes <= STAGED_WRITE_BYTES)
      batches.append(this.staging.address + rq.tag * STAGED_WRITE_BYTES, rq.bytes);
    else batches.appendRequestData(rq);
  }

  /** `bytes` at native `source` (the receive buffer) into `rq`'s data at `offset`; false if that failed. */
  copyIn(rq: Request<unknown>, offset: number, source: number, bytes: number): boolean {
    if (this.io.zeroCopy) return this.io.copyToRequest(rq, source, bytes, offset) === bytes;
    // SAFETY: the destination is in the request's buffer, inside the range its read asked for (the parser checked it).
    memcpy(rq.bufferAddress + offset, source, bytes);
    return true;
  }

  /** Zeros into `rq`'s data at `offset` (a hole); false if that failed. */
  zero(rq: Request<unknown>, offset: number, bytes: number): boolean {
    const zeros = this.zeros;
    if (zeros === null) {
      // SAFETY: inside the request's buffer, in the range its read asked for (the parser checked it).
      memset(rq.bufferAddress + offset, 0, bytes);
      return true;
    }
    for (let done = 0; done < bytes; done += ZEROS_BYTES) {
      const n = Math.min(ZEROS_BYTES, bytes - done);
      if (this.io.copyToRequest(rq, zeros.address, n, offset + done) !== n) return false;
    }
    return true;
  }
}
