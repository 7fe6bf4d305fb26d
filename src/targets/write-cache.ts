import { memcpy } from '../../native-bindings/libc.js';
import type { SharedMutex } from '../blk/shared-mutex.js';

/** The cache's unit: writes are tracked by the 4 KiB blocks they touch (null_blk's cache pages). */
export const CACHE_BLOCK = 4096;

/**
 * A volatile write cache (null_blk's cache_size) over two mappings of the same size: `current`,
 * what the device reads and writes, and `durable`, what would survive a power cut. They differ
 * only in the blocks written since their last write-back, which the cache tracks (a list and a
 * bitmap in a SharedArrayBuffer, so every queue and the daemon see one cache, under the device's
 * mutex). FLUSH writes those blocks back; a FUA write goes to both; when the cache is full, all
 * of it is written back first (as null_blk makes room); a power cut copies the durable blocks
 * back over them: exactly the writes that were never flushed are lost.
 *
 * Whole blocks are safe to copy either way: outside the unflushed writes, both mappings agree.
 */
export class WriteCache {
  /** [0]: how many blocks are dirty; [1]: the capacity in blocks; then the dirty list; then the bitmap. */
  private readonly words: Int32Array;
  private readonly list: Int32Array;
  private readonly bitmap: Int32Array;
  readonly capacityBlocks: number;

  static create(sizeBytes: number, capacityBytes: number): SharedArrayBuffer {
    const capacity = Math.max(1, Math.floor(capacityBytes / CACHE_BLOCK));
    const blocks = Math.ceil(sizeBytes / CACHE_BLOCK);
    const buffer = new SharedArrayBuffer(4 * (2 + capacity + Math.ceil(blocks / 32)));
    new Int32Array(buffer)[1] = capacity;
    return buffer;
  }

  constructor(
    buffer: SharedArrayBuffer,
    private readonly mutex: SharedMutex,
    /** SAFETY: both addresses map sizeBytes of the device's two backings, alive while the device is. */
    private readonly current: number,
    private readonly durable: number,
    private readonly sizeBytes: number,
  ) {
    this.words = new Int32Array(buffer);
    this.capacityBlocks = this.words[1] ?? 0;
    this.list = this.words.subarray(2, 2 + this.capacityBlocks);
    this.bitmap = this.words.subarray(2 + this.capacityBlocks);
  }

  /** Blocks written and not yet written back. */
  get dirtyBlocks(): number {
    return Atomics.load(this.words, 0);
  }

  private isDirty(block: number): boolean {
    return ((this.bitmap[block >>> 5] ?? 0) & (1 << (block & 31))) !== 0;
  }

  /**
   * Before a write of [position, position + length) moves its data into `current`: takes the
   * device's mutex (endWrite lets it go) and makes room for the blocks it adds.
   */
  beginWrite(position: number, length: number): void {
    this.mutex.lock();
    const first = Math.floor(position / CACHE_BLOCK);
    const last = Math.floor((position + length - 1) / CACHE_BLOCK);
    let added = 0;
    for (let block = first; block <= last; block++) if (!this.isDirty(block)) added++;
    if ((this.words[0] ?? 0) + added > this.capacityBlocks) this.copyDirty(true);
  }

  /**
   * After the write moved its data (`moved`: it succeeded): a FUA write, or one larger than the
   * whole cache, is copied to `durable` at once; any other marks its blocks dirty. Unlocks.
   */
  endWrite(position: number, length: number, fua: boolean, moved: boolean): void {
    try {
      if (!moved) return;
      const first = Math.floor(position / CACHE_BLOCK);
      const last = Math.floor((position + length - 1) / CACHE_BLOCK);
      if (fua || last - first + 1 > this.capacityBlocks) {
        // Only the write's own bytes: other unflushed sectors of its blocks stay unflushed.
        memcpy(this.durable + position, this.current + position, length);
        return;
      }
      let count = this.words[0] ?? 0;
      for (let block = first; block <= last; block++) {
        if (this.isDirty(block)) continue;
        this.bitmap[block >>> 5] = (this.bitmap[block >>> 5] ?? 0) | (1 << (block & 31));
        this.list[count++] = block;
      }
      Atomics.store(this.words, 0, count);
    } finally {
      this.mutex.unlock();
    }
  }

  /** FLUSH: every dirty block becomes durable. Returns how many there were. */
  flush(): number {
    this.mutex.lock();
    try {
      return this.flushLocked();
    } finally {
      this.mutex.unlock();
    }
  }

  /** flush() for a caller that holds the device's mutex already. */
  flushLocked(): number {
    return this.copyDirty(true);
  }

  /** A power cut: every block not written back returns to its durable content. Returns how many were lost. */
  powerCut(): number {
    this.mutex.lock();
    try {
      return this.copyDirty(false);
    } finally {
      this.mutex.unlock();
    }
  }

  /** Copies the dirty blocks (to durable: write-back; from it: power cut), runs of neighbours at once; the cache is then empty. */
  private copyDirty(writeBack: boolean): number {
    const count = this.words[0] ?? 0;
    const list = this.list.subarray(0, count).sort();
    let i = 0;
    while (i < count) {
      const first = list[i] ?? 0;
      let run = i + 1;
      while (run < count && list[run] === first + (run - i)) run++;
      const position = first * CACHE_BLOCK;
      const length = Math.min((run - i) * CACHE_BLOCK, this.sizeBytes - position);
      if (writeBack) memcpy(this.durable + position, this.current + position, length);
      else memcpy(this.current + position, this.durable + position, length);
      for (let k = i; k < run; k++) {
        const block = list[k] ?? 0;
        this.bitmap[block >>> 5] = (this.bitmap[block >>> 5] ?? 0) & ~(1 << (block & 31));
      }
      i = run;
    }
    Atomics.store(this.words, 0, 0);
    return count;
  }
}
