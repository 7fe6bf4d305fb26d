// Koffi declarations of the libc calls tsublk makes. Every prototype is fixed (never variadic):
// a variadic call through Koffi costs ~270 ns more (facts.md). syscall(2) is variadic in C, so
// each system call without a glibc wrapper gets its own fixed prototype of the syscall symbol;
// on x86-64 the integer arguments travel in the same registers either way.
import koffi from 'koffi';
import { SyscallError } from './errors.js';

const libc = koffi.load('libc.so.6');

/** x86-64 system call numbers (arch/x86/entry/syscalls/syscall_64.tbl). */
export const SYS = { io_uring_setup: 425, io_uring_enter: 426, io_uring_register: 427 } as const;

// long syscall(SYS_io_uring_setup, u32 entries, struct io_uring_params *p)
const syscallSetup = libc.func('long syscall(long nr, uint32_t entries, _Inout_ uint8_t *params)') as (nr: number, entries: number, params: Uint8Array) => number;
// long syscall(SYS_io_uring_enter, int fd, u32 to_submit, u32 min_complete, u32 flags, const void *arg, size_t argsz)
// The arg pointer is passed as a plain integer address so the hot path never creates a BigInt.
const syscallEnter = libc.func('long syscall(long nr, int fd, uint32_t toSubmit, uint32_t minComplete, uint32_t flags, uintptr_t arg, size_t argsz)') as (
  nr: number, fd: number, toSubmit: number, minComplete: number, flags: number, arg: number, argsz: number,
) => number;

const mmapFn = libc.func('void *mmap(void *addr, size_t length, int prot, int flags, int fd, int64_t offset)') as (
  addr: null, length: number, prot: number, flags: number, fd: number, offset: number,
) => unknown;
const munmapFn = libc.func('int munmap(void *addr, size_t length)') as (addr: unknown, length: number) => number;
const closeFn = libc.func('int close(int fd)') as (fd: number) => number;

export const PROT = { READ: 0x1, WRITE: 0x2 } as const;
export const MAP = { SHARED: 0x01, POPULATE: 0x08000 } as const;
const MAP_FAILED = 0xffffffffffffffffn;

/** io_uring_setup(2): returns the ring's fd; the kernel fills `params` in. */
export function ioUringSetup(entries: number, params: Uint8Array): number {
  const fd = syscallSetup(SYS.io_uring_setup, entries, params);
  if (fd < 0) throw new SyscallError('io_uring_setup', koffi.errno(), `entries=${entries}`);
  return fd;
}

/**
 * io_uring_enter(2) without throwing: returns the count or `-errno`, because -EINTR, -EAGAIN
 * and -ETIME are ordinary answers for a ring's event loop.
 */
export function ioUringEnter(fd: number, toSubmit: number, minComplete: number, flags: number, arg: number, argSize: number): number {
  const result = syscallEnter(SYS.io_uring_enter, fd, toSubmit, minComplete, flags, arg, argSize);
  return result < 0 ? -koffi.errno() : result;
}

/** A mapping made by mmap(2): the pointer Koffi views are built on, and its address for the kernel. */
export interface Mapping {
  readonly pointer: unknown;
  readonly address: bigint;
  readonly length: number;
}

export function mmap(length: number, prot: number, flags: number, fd: number, offset: number, what: string): Mapping {
  const pointer = mmapFn(null, length, prot, flags, fd, offset);
  const address = koffi.address(pointer);
  if (address === MAP_FAILED) throw new SyscallError('mmap', koffi.errno(), `${what}, length=${length}, offset=0x${offset.toString(16)}`);
  return { pointer, address, length };
}

export function munmap(mapping: Mapping): void {
  if (munmapFn(mapping.pointer, mapping.length) !== 0) throw new SyscallError('munmap', koffi.errno(), `length=${mapping.length}`);
}

export function close(fd: number): void {
  if (closeFn(fd) !== 0) throw new SyscallError('close', koffi.errno(), `fd=${fd}`);
}

/**
 * An ArrayBuffer over a whole mapping, without a copy; index it with typed arrays at offsets.
 * SAFETY: valid only while the memory stays mapped: the mapping's owner drops its views before
 * munmap (an access after it faults), and never posts the buffer to a worker (it would be copied).
 */
export function viewOf(mapping: Mapping): ArrayBuffer {
  return koffi.view(mapping.pointer, mapping.length);
}
