// Koffi declarations of the libc calls tsublk makes. Every prototype is fixed (never variadic):
// a variadic call through Koffi costs ~270 ns more (facts.md). syscall(2) is variadic in C, so
// each system call without a glibc wrapper gets its own fixed prototype of the syscall symbol;
// on x86-64 the integer arguments travel in the same registers either way. Addresses cross as
// plain integers (uintptr_t): user-space addresses are below 2^47, exact in a JS number, and no
// BigInt is made per call.
import os from 'node:os';
import { koffi } from './koffi-module.js';
import { SyscallError } from './errors.js';

const libc = koffi.load('libc.so.6');

/** x86-64 system call numbers (arch/x86/entry/syscalls/syscall_64.tbl). */
export const SYS = { io_uring_setup: 425, io_uring_enter: 426, io_uring_register: 427 } as const;

export const PROT = { NONE: 0, READ: 0x1, WRITE: 0x2 } as const;
export const MAP = { SHARED: 0x01, PRIVATE: 0x02, ANONYMOUS: 0x20, NORESERVE: 0x4000, POPULATE: 0x8000 } as const;
export const O = {
  RDONLY: 0,
  WRONLY: 1,
  RDWR: 2,
  CREAT: 0o100,
  EXCL: 0o200,
  TRUNC: 0o1000,
  APPEND: 0o2000,
  DIRECT: 0o40000,
  CLOEXEC: 0o2000000,
} as const;
export const MFD = { CLOEXEC: 1, ALLOW_SEALING: 2 } as const;
export const FALLOC_FL = { KEEP_SIZE: 1, PUNCH_HOLE: 2, ZERO_RANGE: 0x10 } as const;
export const LOCK = { SH: 1, EX: 2, NB: 4, UN: 8 } as const;
export const MADV = { DONTNEED: 4, REMOVE: 9 } as const;
export const PR = { SET_NAME: 15, SET_TIMERSLACK: 29, SET_IO_FLUSHER: 57, GET_IO_FLUSHER: 58 } as const;
/** Socket domains and types (sys/socket.h, x86-64 Linux), and a send's flags. */
export const AF = { UNIX: 1, INET: 2, INET6: 10 } as const;
export const SOCK = { STREAM: 1, DGRAM: 2, CLOEXEC: 0o2000000 } as const;
export const MSG = { NOSIGNAL: 0x4000 } as const;
/** setsockopt(2) levels and names (asm-generic/socket.h, netinet/tcp.h). */
export const SOL = { SOCKET: 1, TCP: 6 } as const;
export const SO = { RCVTIMEO: 20, SNDTIMEO: 21 } as const;
export const TCP = { NODELAY: 1 } as const;
/** sizeof(struct sockaddr_un): a u16 family, then up to 108 bytes of path. */
export const SOCKADDR_UN_SIZE = 110;

// SAFETY (all declarations): the prototypes match the C functions on x86-64 glibc; pointer
// arguments are either Koffi-managed buffers that live for the call or integer addresses of
// memory the caller keeps mapped for as long as the kernel may use it.
const native = {
  setup: libc.func('long syscall(long nr, uint32_t entries, _Inout_ uint8_t *params)') as (
    nr: number,
    entries: number,
    params: Uint8Array,
  ) => number,
  enter: libc.func(
    'long syscall(long nr, int fd, uint32_t toSubmit, uint32_t minComplete, uint32_t flags, uintptr_t arg, size_t argsz)',
  ) as (
    nr: number,
    fd: number,
    toSubmit: number,
    minComplete: number,
    flags: number,
    arg: number,
    argsz: number,
  ) => number,
  register: libc.func('long syscall(long nr, int fd, uint32_t opcode, uintptr_t arg, uint32_t nrArgs)') as (
    nr: number,
    fd: number,
    opcode: number,
    arg: number,
    nrArgs: number,
  ) => number,
  mmap: libc.func('void *mmap(void *addr, size_t length, int prot, int flags, int fd, int64_t offset)') as (
    addr: null,
    length: number,
    prot: number,
    flags: number,
    fd: number,
    offset: number,
  ) => unknown,
  munmap: libc.func('int munmap(void *addr, size_t length)') as (addr: unknown, length: number) => number,
  open: libc.func('int open(const char *path, int flags, uint32_t mode)') as (
    path: string,
    flags: number,
    mode: number,
  ) => number,
  close: libc.func('int close(int fd)') as (fd: number) => number,
  pread: libc.func('intptr_t pread(int fd, uintptr_t buf, size_t count, int64_t offset)') as (
    fd: number,
    buf: number,
    count: number,
    offset: number,
  ) => number,
  pwrite: libc.func('intptr_t pwrite(int fd, uintptr_t buf, size_t count, int64_t offset)') as (
    fd: number,
    buf: number,
    count: number,
    offset: number,
  ) => number,
  memfdCreate: libc.func('int memfd_create(const char *name, uint32_t flags)') as (
    name: string,
    flags: number,
  ) => number,
  ftruncate: libc.func('int ftruncate(int fd, int64_t length)') as (fd: number, length: number) => number,
  fallocate: libc.func('int fallocate(int fd, int mode, int64_t offset, int64_t length)') as (
    fd: number,
    mode: number,
    offset: number,
    length: number,
  ) => number,
  // Declared void: memcpy returns dst, which nobody needs (and a pointer result would allocate).
  memcpy: libc.func('void memcpy(uintptr_t dst, uintptr_t src, size_t n)') as (
    dst: number,
    src: number,
    n: number,
  ) => void,
  // Declared void for the same reason.
  memset: libc.func('void memset(uintptr_t dst, int c, size_t n)') as (dst: number, c: number, n: number) => void,
  flock: libc.func('int flock(int fd, int operation)') as (fd: number, operation: number) => number,
  madvise: libc.func('int madvise(uintptr_t addr, size_t length, int advice)') as (
    addr: number,
    length: number,
    advice: number,
  ) => number,
  prctl: libc.func(
    'int prctl(int option, unsigned long arg2, unsigned long arg3, unsigned long arg4, unsigned long arg5)',
  ) as (option: number, arg2: number, arg3: number, arg4: number, arg5: number) => number,
  socket: libc.func('int socket(int domain, int type, int protocol)') as (
    domain: number,
    type: number,
    protocol: number,
  ) => number,
  sendto: libc.func(
    'intptr_t sendto(int fd, const uint8_t *buf, size_t len, int flags, const uint8_t *addr, uint32_t addrlen)',
  ) as (fd: number, buf: Uint8Array, len: number, flags: number, addr: Uint8Array, addrlen: number) => number,
  bind: libc.func('int bind(int fd, const uint8_t *addr, uint32_t addrlen)') as (
    fd: number,
    addr: Uint8Array,
    addrlen: number,
  ) => number,
  clockGettime: libc.func('int clock_gettime(int clock, void *ts)') as (clock: number, ts: Uint32Array) => number,
  connect: libc.func('int connect(int fd, const uint8_t *addr, uint32_t addrlen)') as (
    fd: number,
    addr: Uint8Array,
    addrlen: number,
  ) => number,
  setsockopt: libc.func('int setsockopt(int fd, int level, int name, const uint8_t *value, uint32_t length)') as (
    fd: number,
    level: number,
    name: number,
    value: Uint8Array,
    length: number,
  ) => number,
  shutdown: libc.func('int shutdown(int fd, int how)') as (fd: number, how: number) => number,
  send: libc.func('intptr_t send(int fd, const uint8_t *buf, size_t len, int flags)') as (
    fd: number,
    buf: Uint8Array,
    len: number,
    flags: number,
  ) => number,
  recv: libc.func('intptr_t recv(int fd, uint8_t *buf, size_t len, int flags)') as (
    fd: number,
    buf: Uint8Array,
    len: number,
    flags: number,
  ) => number,
  getpid: libc.func('int getpid()') as () => number,
  gettid: libc.func('int gettid()') as () => number,
  schedSetaffinity: libc.func('int sched_setaffinity(int pid, size_t size, const uint8_t *mask)') as (
    pid: number,
    size: number,
    mask: Uint8Array,
  ) => number,
};

const MAP_FAILED = 0xffffffffffffffffn;

function check(result: number, call: string, target: string): number {
  if (result < 0) throw new SyscallError(call, koffi.errno(), target);
  return result;
}

/** io_uring_setup(2): returns the ring's fd; the kernel fills `params` in. */
export function ioUringSetup(entries: number, params: Uint8Array): number {
  return check(native.setup(SYS.io_uring_setup, entries, params), 'io_uring_setup', `entries=${entries}`);
}

/**
 * io_uring_enter(2) without throwing: returns the count or `-errno`, because -EINTR, -EAGAIN,
 * -EBUSY and -ETIME are ordinary answers for a ring's event loop.
 */
export function ioUringEnter(
  fd: number,
  toSubmit: number,
  minComplete: number,
  flags: number,
  arg: number,
  argSize: number,
): number {
  const result = native.enter(SYS.io_uring_enter, fd, toSubmit, minComplete, flags, arg, argSize);
  return result < 0 ? -koffi.errno() : result;
}

/** io_uring_register(2); `arg` is the address of the opcode's argument array. */
export function ioUringRegister(fd: number, opcode: number, arg: number, count: number, what: string): number {
  return check(native.register(SYS.io_uring_register, fd, opcode, arg, count), 'io_uring_register', what);
}

/** A mapping made by mmap(2): the pointer Koffi views are built on, and its address. */
export interface Mapping {
  readonly pointer: unknown;
  /** The start address; below 2^47 on x86-64, so exact as a number. */
  readonly address: number;
  readonly length: number;
}

export function mmap(length: number, prot: number, flags: number, fd: number, offset: number, what: string): Mapping {
  const pointer = native.mmap(null, length, prot, flags, fd, offset);
  const address = koffi.address(pointer);
  if (address === MAP_FAILED)
    throw new SyscallError('mmap', koffi.errno(), `${what}, length=${length}, offset=0x${offset.toString(16)}`);
  return { pointer, address: Number(address), length };
}

export function munmap(mapping: Mapping): void {
  check(native.munmap(mapping.pointer, mapping.length), 'munmap', `length=${mapping.length}`);
}

/**
 * An ArrayBuffer over a whole mapping, without a copy; index it with typed arrays at offsets.
 * SAFETY: valid only while the memory stays mapped: the mapping's owner drops its views before
 * munmap (an access after it faults), and never posts the buffer to a worker (it would be copied).
 */
export function viewOf(mapping: Mapping): ArrayBuffer {
  return koffi.view(mapping.pointer, mapping.length);
}

export function open(path: string, flags: number, mode = 0o600): number {
  return check(native.open(path, flags | O.CLOEXEC, mode), 'open', path);
}

export function close(fd: number): void {
  check(native.close(fd), 'close', `fd=${fd}`);
}

/** pread(2) into memory at `address` (which the caller keeps mapped). */
export function pread(fd: number, address: number, count: number, offset: number): number {
  return check(native.pread(fd, address, count, offset), 'pread', `fd=${fd}, count=${count}, offset=${offset}`);
}

/** pwrite(2) from memory at `address` (which the caller keeps mapped). */
export function pwrite(fd: number, address: number, count: number, offset: number): number {
  return check(native.pwrite(fd, address, count, offset), 'pwrite', `fd=${fd}, count=${count}, offset=${offset}`);
}

/**
 * pread(2) for hot paths: bytes read, or -errno; never throws, allocates nothing. The caller
 * keeps `address` mapped.
 */
export function preadRaw(fd: number, address: number, count: number, offset: number): number {
  const result = native.pread(fd, address, count, offset);
  return result < 0 ? -koffi.errno() : result;
}

/** pwrite(2) for hot paths: bytes written, or -errno; never throws, allocates nothing. */
export function pwriteRaw(fd: number, address: number, count: number, offset: number): number {
  const result = native.pwrite(fd, address, count, offset);
  return result < 0 ? -koffi.errno() : result;
}

/**
 * memcpy(3) between two mappings this process owns. SAFETY: both ranges must be mapped and
 * `n` bytes long; nothing is checked (a bad address faults the process).
 */
export function memcpy(dst: number, src: number, n: number): void {
  native.memcpy(dst, src, n);
}

/** memset(3) on a mapping this process owns. SAFETY: as memcpy: the range must be mapped, `n` bytes long. */
export function memset(dst: number, byte: number, n: number): void {
  native.memset(dst, byte, n);
}

export function memfdCreate(name: string, flags: number = MFD.CLOEXEC): number {
  return check(native.memfdCreate(name, flags), 'memfd_create', name);
}

export function ftruncate(fd: number, length: number): void {
  check(native.ftruncate(fd, length), 'ftruncate', `fd=${fd}, length=${length}`);
}

export function fallocate(fd: number, mode: number, offset: number, length: number): void {
  check(
    native.fallocate(fd, mode, offset, length),
    'fallocate',
    `fd=${fd}, mode=${mode}, offset=${offset}, length=${length}`,
  );
}

/** flock(2); with LOCK.NB a lock held elsewhere throws EWOULDBLOCK (code 'EAGAIN'). */
export function flock(fd: number, operation: number): void {
  check(native.flock(fd, operation), 'flock', `fd=${fd}`);
}

export function madvise(address: number, length: number, advice: number): void {
  check(native.madvise(address, length, advice), 'madvise', `length=${length}, advice=${advice}`);
}

export function prctl(option: number, arg2 = 0, arg3 = 0, arg4 = 0, arg5 = 0): number {
  return check(native.prctl(option, arg2, arg3, arg4, arg5), 'prctl', `option=${option}`);
}

/** socket(2), close-on-exec. */
export function socket(domain: number, type: number, protocol = 0): number {
  return check(native.socket(domain, type | SOCK.CLOEXEC, protocol), 'socket', `domain ${domain}, type ${type}`);
}

/** bind(2) of a socket to the socket address `address` (a struct sockaddr's bytes). */
export function bind(fd: number, address: Uint8Array, what: string): void {
  check(native.bind(fd, address, address.length), 'bind', what);
}

/** sendto(2) of all of `data` to the socket address `address` (a struct sockaddr's bytes). */
export function sendto(fd: number, data: Uint8Array, address: Uint8Array, what: string): void {
  check(native.sendto(fd, data, data.length, MSG.NOSIGNAL, address, address.length), 'sendto', what);
}

/** A signal handler ran (a profiler's SIGPROF, a terminal's SIGWINCH): the call did not fail. */
const EINTR = os.constants.errno.EINTR;
/** A connect already under way, and one that has completed. */
const EALREADY = os.constants.errno.EALREADY;
const EISCONN = os.constants.errno.EISCONN;
/** What a connect interrupted by a signal sleeps between its checks on the connection. */
const connectPoll = new Int32Array(new SharedArrayBuffer(4));

/**
 * connect(2) to a socket address (a struct sockaddr's bytes), blocking (SO_SNDTIMEO bounds it). A signal does not stop the connection the kernel
 * is making: after EINTR it is asked again every millisecond (EALREADY while under way, EISCONN
 * once made, or why it failed) for up to `timeoutSeconds`, then ETIMEDOUT.
 */
export function connect(fd: number, address: Uint8Array, what: string, timeoutSeconds = 10): void {
  const deadline = Date.now() + timeoutSeconds * 1000;
  let interrupted = false;
  for (;;) {
    if (native.connect(fd, address, address.length) === 0) return;
    const errno = koffi.errno();
    if (interrupted && errno === EISCONN) return;
    if (errno !== EINTR && !(interrupted && errno === EALREADY)) throw new SyscallError('connect', errno, what);
    if (Date.now() >= deadline) throw new SyscallError('connect', os.constants.errno.ETIMEDOUT, what);
    interrupted = true;
    if (errno === EALREADY) Atomics.wait(connectPoll, 0, 0, 1);
  }
}

/** setsockopt(2) with the option's value as bytes. */
export function setsockopt(fd: number, level: number, name: number, value: Uint8Array): void {
  check(native.setsockopt(fd, level, name, value, value.length), 'setsockopt', `level ${level}, name ${name}`);
}

/**
 * shutdown(2) of both directions of a socket: I/O waiting on it (an io_uring read) completes at
 * once. Errors (a socket already disconnected: ENOTCONN) are of no interest to a caller giving up on it.
 */
export function shutdownSocket(fd: number): void {
  native.shutdown(fd, 2); // SHUT_RDWR
}

/** send(2) of all of `data` on a connected socket, blocking (set-up paths; a queue sends through its ring). */
export function sendAll(fd: number, data: Uint8Array, what: string): void {
  for (let done = 0; done < data.length;) {
    const sent = native.send(fd, data.subarray(done), data.length - done, MSG.NOSIGNAL);
    if (sent < 0 && koffi.errno() === EINTR) continue; // a signal handler ran: send again
    check(sent, 'send', what);
    done += sent;
  }
}

/** recv(2) of exactly `length` bytes, blocking; throws when the peer closes first (or SO_RCVTIMEO passes). */
export function receiveExactly(fd: number, length: number, what: string): Uint8Array {
  const data = new Uint8Array(length);
  for (let done = 0; done < length;) {
    const result = native.recv(fd, data.subarray(done), length - done, 0);
    if (result < 0 && koffi.errno() === EINTR) continue; // a signal handler ran: receive again
    const received = check(result, 'recv', what);
    if (received === 0) throw new Error(`${what}: the peer closed the connection`);
    done += received;
  }
  return data;
}

const CLOCK_MONOTONIC = 1;
/** This thread's struct timespec (two 64-bit fields, little-endian): [sec low, sec high, nsec low, nsec high]. */
const timespec = new Uint32Array(4);

/**
 * CLOCK_MONOTONIC in microseconds, for hot paths. glibc reads it from the vDSO (no system call)
 * into a buffer kept per thread, so nothing is allocated: performance.now() and Date.now() return
 * a new heap number per call (1M calls: 17 scavenges; this: none; 60 ns a call on the host).
 */
export function monotonicMicroseconds(): number {
  native.clockGettime(CLOCK_MONOTONIC, timespec);
  // Seconds since boot fit the low word for 136 years.
  return (timespec[0] ?? 0) * 1e6 + (timespec[2] ?? 0) / 1e3;
}

export function getpid(): number {
  return native.getpid();
}

/** The kernel thread id of the calling thread (each worker_thread has its own). */
export function gettid(): number {
  return native.gettid();
}

/** Pins the thread `tid` (0: the caller) to the given CPUs. */
export function schedSetaffinity(tid: number, cpus: readonly number[]): void {
  const mask = new Uint8Array(128); // cpu_set_t: 1024 bits
  for (const cpu of cpus) mask[cpu >> 3] = (mask[cpu >> 3] ?? 0) | (1 << (cpu & 7));
  check(native.schedSetaffinity(tid, mask.length, mask), 'sched_setaffinity', `tid=${tid}, cpus=${cpus.join(',')}`);
}
