// io_uring_register(2) for a ring: files, fixed buffers (a table or an empty one the kernel fills)
// and provided buffer rings. Each builds its argument in native memory and frees it at once: the
// kernel copies what it is given.
import {
  IORING_REGISTER,
  IORING_RSRC_REGISTER,
  IoUringBufReg,
  IoUringRsrcRegister,
  Iovec,
} from '../../native-bindings/io_uring.js';
import { HostMemory } from '../../native-bindings/host-memory.js';
import { ioUringRegister } from '../../native-bindings/libc.js';
import { TWO_32, high32 } from '../../native-bindings/u64.js';

/**
 * Registers a ring of provided buffers (IORING_REGISTER_PBUF_RING) for group `group`: `entries`
 * io_uring_buf slots at `ringAddress` (page aligned), which must stay mapped until close().
 */
export function registerBufferRing(
  ringFd: number,
  ringAddress: number,
  entries: number,
  group: number,
  flags: number,
): void {
  const register = new HostMemory(IoUringBufReg.size, 'io_uring_buf_reg');
  try {
    const w = register.u32(); // zeroed: no min_left, reserved words 0
    w[IoUringBufReg.ring_addr / 4] = ringAddress >>> 0;
    w[IoUringBufReg.ring_addr / 4 + 1] = high32(ringAddress);
    w[IoUringBufReg.ring_entries / 4] = entries;
    w[IoUringBufReg.bgid / 4] = (group & 0xffff) | ((flags & 0xffff) << 16); // bgid, flags
    ioUringRegister(
      ringFd,
      IORING_REGISTER.PBUF_RING,
      register.address,
      1,
      `IORING_REGISTER_PBUF_RING, group ${group}, ${entries} entries`,
    );
  } finally {
    register.free(); // the kernel copied it
  }
}

/** Registers file descriptors; SQEs then name them by index with IOSQE_FIXED_FILE. */
export function registerFiles(ringFd: number, fds: readonly number[]): void {
  const table = new HostMemory(Math.max(4, fds.length * 4), 'registered file table');
  try {
    table.u32().set(fds.map((fd) => fd >>> 0));
    ioUringRegister(
      ringFd,
      IORING_REGISTER.FILES,
      table.address,
      fds.length,
      `IORING_REGISTER_FILES, ${fds.length} files`,
    );
  } finally {
    table.free(); // the kernel copied the table
  }
}

/**
 * Registers buffers for READ_FIXED/WRITE_FIXED: the kernel pins their pages once instead of
 * per I/O. The memory must stay mapped until unregisterBuffers() or close().
 */
export function registerBuffers(
  ringFd: number,
  buffers: ReadonlyArray<{ readonly address: number; readonly length: number }>,
): void {
  const iovecs = new HostMemory(Math.max(Iovec.size, buffers.length * Iovec.size), 'iovec array');
  try {
    const w = iovecs.u32();
    buffers.forEach((buffer, i) => {
      const at = (i * Iovec.size) / 4;
      w[at] = buffer.address >>> 0;
      w[at + 1] = (buffer.address / TWO_32) >>> 0;
      w[at + 2] = buffer.length >>> 0;
      w[at + 3] = (buffer.length / TWO_32) >>> 0;
    });
    ioUringRegister(
      ringFd,
      IORING_REGISTER.BUFFERS,
      iovecs.address,
      buffers.length,
      `IORING_REGISTER_BUFFERS, ${buffers.length} buffers`,
    );
  } finally {
    iovecs.free(); // the kernel copied the array
  }
}

/**
 * Registers an empty table of `count` fixed buffers (IORING_REGISTER_BUFFERS2, sparse), whose
 * slots the kernel fills: ublk's AUTO_BUF_REG puts each request's pages at the slot the
 * command names, for READ_FIXED/WRITE_FIXED, and takes them out at its commit.
 */
export function registerSparseBuffers(ringFd: number, count: number): void {
  const register = new HostMemory(IoUringRsrcRegister.size, 'io_uring_rsrc_register');
  try {
    const w = register.u32(); // zeroed: no data, no tags
    w[IoUringRsrcRegister.nr / 4] = count;
    w[IoUringRsrcRegister.flags / 4] = IORING_RSRC_REGISTER.SPARSE;
    ioUringRegister(
      ringFd,
      IORING_REGISTER.BUFFERS2,
      register.address,
      IoUringRsrcRegister.size,
      `IORING_REGISTER_BUFFERS2, ${count} empty buffers`,
    );
  } finally {
    register.free(); // the kernel copied it
  }
}
