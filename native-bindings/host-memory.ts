import { MAP, type Mapping, PROT, mmap, munmap, viewOf } from './libc.js';

/**
 * Page-aligned anonymous memory with a fixed address, for anything whose address goes to the
 * kernel: I/O buffers, timespecs, iovec arrays. Node Buffers will not do: pooled ones share
 * slabs and the garbage collector may free them while the kernel still uses the address.
 */
export class HostMemory {
  /** The start address, to put in SQEs and command structs. */
  readonly address: number;
  readonly length: number;
  /**
   * The bytes, viewed without a copy. SAFETY: valid until free(); whoever owns this object keeps
   * it alive while the kernel may touch the memory (until the CQE of the last SQE naming it).
   */
  bytes: Uint8Array;
  private readonly mapping: Mapping;
  private freed = false;

  constructor(length: number, what = 'host memory') {
    if (!(Number.isSafeInteger(length) && length > 0))
      throw new RangeError(`${what}: length must be a positive integer, not ${length}`);
    // MAP_NORESERVE: large buffers cost memory only once touched.
    this.mapping = mmap(length, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS | MAP.NORESERVE, -1, 0, what);
    this.address = this.mapping.address;
    this.length = length;
    this.bytes = new Uint8Array(viewOf(this.mapping), 0, length);
  }

  /** A Uint32Array over the same bytes (the offset must be 4-byte aligned). */
  u32(byteOffset = 0, count = (this.length - byteOffset) >>> 2): Uint32Array {
    return new Uint32Array(this.bytes.buffer, byteOffset, count);
  }

  /** Unmaps the memory; every view of it must be dropped first. Safe to call twice. */
  free(): void {
    if (this.freed) return;
    this.freed = true;
    this.bytes = new Uint8Array(0);
    munmap(this.mapping);
  }
}
