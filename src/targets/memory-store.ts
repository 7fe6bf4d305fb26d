import { FALLOC_FL, fallocate, memcpy } from '../../native-bindings/libc.js';
import type { QueueIo } from '../blk/queue-io.js';
import type { Request } from '../blk/request.js';

/**
 * The data path of a target that keeps its bytes in a mapped backing (memory-backing.ts): the
 * memory target and the null target with memory_backed share it, so both move data the same way.
 */
export interface MappedStore {
  readonly io: QueueIo;
  /** The backing's fd (for hole punching). */
  readonly fd: number;
  /** Where the backing is mapped, shared, whole. */
  readonly address: number;
  readonly sizeBytes: number;
}

export const SECTOR = 512;
export const EIO = 5;

/**
 * Moves `length` bytes of the request's data (from its start) to or from `position` of the store
 * (the request's own, unless a zone append put it at the write pointer) now, in the queue's thread: with
 * user copy (the request has no buffer, address 0) between its pages and the mapping through
 * /dev/ublkcN (one syscall); otherwise between its per-tag buffer and the mapping by memcpy (the
 * kernel moves the buffer to or from the request's pages as part of the fetch and commit).
 * Returns bytes moved or -errno.
 */
export function moveData(
  store: MappedStore,
  rq: Request<unknown>,
  write: boolean,
  length: number = rq.bytes,
  position: number = rq.startSector * SECTOR,
): number {
  // SAFETY: the mapping covers the disk; the kernel keeps requests inside it, and so does this check.
  if (position + length > store.sizeBytes) return -EIO;
  const at = store.address + position;
  if (length === 0) return 0;
  if (rq.bufferAddress === 0) {
    const moved = write ? store.io.copyFromRequest(rq, at, length, 0) : store.io.copyToRequest(rq, at, length, 0);
    return moved === length || moved < 0 ? moved : -EIO; // short: the request ended early
  }
  // SAFETY: the per-tag buffer holds max_io_buf_bytes, and the kernel never sends more.
  if (write) memcpy(at, rq.bufferAddress, length);
  else memcpy(rq.bufferAddress, at, length);
  return length;
}

/** Discard and write-zeroes: reads of the range return zeros and its memory goes back. False on failure. */
export function punchHole(fd: number, position: number, length: number): boolean {
  try {
    fallocate(fd, FALLOC_FL.PUNCH_HOLE | FALLOC_FL.KEEP_SIZE, position, length);
    return true;
  } catch {
    return false;
  }
}
