import { IOU_PBUF_RING, IoUringBuf } from '../../native-bindings/io_uring.js';
import { high32 } from '../../native-bindings/u64.js';
import { HostMemory } from '../../native-bindings/host-memory.js';
import type { Ring } from './ring.js';

/** The ring's u16 tail overlays entry 0's `resv` (struct io_uring_buf_ring): u16 index 7. */
const TAIL_U16 = IoUringBuf.resv / 2;

/**
 * A ring of provided buffers (IORING_REGISTER_PBUF_RING) for one buffer group: a request with
 * IOSQE_BUFFER_SELECT on that group completes into a buffer the kernel takes from it. With
 * `incremental` (IOU_PBUF_RING_INC), a buffer is consumed a completion at a time, each one
 * continuing where the last ended, until it runs out.
 */
export class ProvidedBufferRing {
  /** SAFETY: the ring's entries, page-aligned memory the kernel reads until the ring closes. */
  private readonly memory: HostMemory;
  private readonly words: Uint32Array;
  private readonly halves: Uint16Array;
  private readonly mask: number;
  private tail = 0;

  /** `entries`: a power of two. The memory outlives the ring: free() only after ring.close(). */
  constructor(ring: Ring, group: number, entries: number, incremental: boolean) {
    if (entries < 1 || (entries & (entries - 1)) !== 0)
      throw new RangeError(`a provided buffer ring needs a power of two entries, not ${entries}`);
    this.memory = new HostMemory(entries * IoUringBuf.size, `provided buffer ring of group ${group}`);
    this.words = this.memory.u32();
    this.halves = new Uint16Array(this.memory.bytes.buffer, 0, (entries * IoUringBuf.size) / 2);
    this.mask = entries - 1;
    try {
      ring.registerBufferRing(this.memory.address, entries, group, incremental ? IOU_PBUF_RING.INC : 0);
    } catch (error) {
      this.memory.free();
      throw error;
    }
  }

  /** Hands the kernel buffer `id`: `length` bytes at `address`, which must stay mapped while it may use them. */
  provide(address: number, length: number, id: number): void {
    const slot = this.tail & this.mask;
    // SAFETY: slot < entries, so its 16 bytes lie inside the ring's memory.
    const w = slot * (IoUringBuf.size / 4);
    this.words[w + IoUringBuf.addr / 4] = address >>> 0;
    this.words[w + IoUringBuf.addr / 4 + 1] = high32(address);
    this.words[w + IoUringBuf.len / 4] = length;
    this.halves[w * 2 + IoUringBuf.bid / 2] = id;
    // The tail is published last, by a store the CPU keeps after the entry's (x86 orders stores;
    // Atomics.store is sequentially consistent elsewhere): the kernel reads the entry after it.
    this.tail = (this.tail + 1) & 0xffff;
    Atomics.store(this.halves, TAIL_U16, this.tail);
  }

  /** Unmaps the ring's memory: only once the io_uring it was registered with is closed. */
  free(): void {
    this.memory.free();
  }
}
