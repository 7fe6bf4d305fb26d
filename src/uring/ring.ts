// perf_hooks' performance, not the global lazy getter: 0.83 µs a call in the TCG guest, not 3.8.
import {
  IORING_ENTER,
  IORING_FEAT,
  IORING_FSYNC,
  IORING_OFF,
  IORING_OP,
  IORING_REGISTER,
  IORING_SETUP,
  IORING_SQ,
  IORING_URING_CMD,
  IOSQE,
  IoCqringOffsets,
  IoSqringOffsets,
  IoUringCqe,
  IoUringGeteventsArg,
  IoUringParams,
  IoUringSqe,
  KernelTimespec,
} from '../../native-bindings/io_uring.js';
import {
  MAP,
  type Mapping,
  PROT,
  close,
  ioUringEnter,
  ioUringRegister,
  ioUringSetup,
  mmap,
  munmap,
  viewOf,
} from '../../native-bindings/libc.js';
import { SyscallError } from '../../native-bindings/errors.js';
import { TWO_32, high32 } from '../../native-bindings/u64.js';
import { HostMemory } from '../../native-bindings/host-memory.js';
import { registerBufferRing, registerBuffers, registerFiles, registerSparseBuffers } from './registrations.js';

export interface RingOptions {
  /** 128-byte SQEs: an 80-byte command area (ublk's control commands need it). */
  readonly sqe128?: boolean;
  /** 32-byte CQEs. */
  readonly cqe32?: boolean;
  /** Completion queue size (a power of two ≥ entries); default twice the SQ size. */
  readonly cqEntries?: number;
  readonly coopTaskrun?: boolean;
  readonly singleIssuer?: boolean;
  readonly deferTaskrun?: boolean;
}

/** Called once per completion. Create it once, outside any loop: the hot path makes no closures. */
export type CompletionHandler = (userData: number, result: number, flags: number) => void;

/** perf_hooks' clock, fetched at the first timed wait: importing perf_hooks loads ~35 of Node's modules, which a `tsublk list` (this ring, no timed wait) need not pay. */
let clock: { now(): number } | undefined;

/** Milliseconds since an arbitrary start (perf_hooks' performance.now(): 4.5x cheaper per call than the global's getter). */
function nowMs(): number {
  clock ??= process.getBuiltinModule('node:perf_hooks').performance;
  return clock.now();
}

const EINTR = 4;
const EAGAIN = 11;
const EBUSY = 16;
const ETIME = 62;

// Word (u32) indexes inside an SQE, from the UAPI byte offsets.
const W_OPCODE = IoUringSqe.opcode / 4; // opcode, flags, ioprio share word 0
const W_FD = IoUringSqe.fd / 4;
const W_OFF = IoUringSqe.off / 4;
const W_ADDR = IoUringSqe.addr / 4;
const W_LEN = IoUringSqe.len / 4;
const W_RW_FLAGS = IoUringSqe.rw_flags / 4;
const W_USER_DATA = IoUringSqe.user_data / 4;
const W_BUF_INDEX = IoUringSqe.buf_index / 4; // buf_index, personality
const W_CMD = IoUringSqe.cmd / 4; // addr3 / the uring_cmd command area
// 8-byte lane indexes inside an SQE, for the zero stores.
const LANE_OFF = IoUringSqe.off / 8;
const LANE_BUF_INDEX = IoUringSqe.buf_index / 8;

// Layout of the ring's scratch memory: io_uring_enter's EXT_ARG, its timespec, then one
// timespec per SQE slot for timeout SQEs (the kernel reads it when it consumes that SQE).
const SCRATCH_GETEVENTS = 0;
const SCRATCH_WAIT_TS = 32;
const SCRATCH_SQE_TS = 64;

/**
 * An io_uring instance: the submission and completion rings shared with the kernel, and the SQE
 * array, in liburing's spirit: getSqe, prep*, submit / submitAndWait, drainCompletions.
 * One thread owns a ring; nothing here may be shared between threads.
 */
export class Ring {
  readonly sqEntries: number;
  readonly cqEntries: number;
  /** Bytes per SQE: 64, or 128 with SQE128. */
  readonly sqeSize: number;
  /** Bytes per CQE: 16, or 32 with CQE32. */
  readonly cqeSize: number;
  /** IORING_FEAT_* bits the kernel reported. */
  readonly features: number;
  /**
   * Every SQE as u32 words, for writing command areas (see prepUringCmd). SAFETY: a view of the
   * SQE mapping, valid until close(); write only the SQE that getSqe() handed out.
   */
  sqeWords: Uint32Array;
  /** u32 words per SQE (16 or 32): SQE n starts at word n * sqeStride. */
  readonly sqeStride: number;
  /**
   * The same SQE memory as 8-byte lanes, only ever written with +0.0 (all bits zero): clearing
   * the SQE's always-zero fields takes half the stores. SAFETY: as sqeWords.
   */
  private sqeZeroLanes: Float64Array;

  private readonly mappings: Mapping[] = [];
  private readonly scratch: HostMemory;
  private readonly scratchWords: Uint32Array;
  // Views of the shared rings, created once. SAFETY: the mappings live until close(), which
  // drops these views first; the kernel writes the CQ tail and SQ head, we write the others.
  private sqRing: Uint32Array;
  private cqRing: Uint32Array;
  private cqes: Uint32Array;
  private readonly sqHeadIndex: number;
  private readonly sqTailIndex: number;
  private readonly sqFlagsIndex: number;
  private readonly sqMask: number;
  private readonly cqHeadIndex: number;
  private readonly cqTailIndex: number;
  private readonly cqMask: number;
  private readonly cqeStride: number;
  /** Our SQ tail: SQEs handed out by getSqe() are published to the kernel at the next submit. */
  private sqTail: number;
  /** The kernel's SQ head as last read: SQEs before it are free again. */
  private sqHeadCached: number;
  private closed = false;

  private constructor(
    /** The ring's file descriptor. */
    readonly fd: number,
    params: DataView,
  ) {
    this.sqEntries = params.getUint32(IoUringParams.sq_entries, true);
    this.cqEntries = params.getUint32(IoUringParams.cq_entries, true);
    this.features = params.getUint32(IoUringParams.features, true);
    const flags = params.getUint32(IoUringParams.flags, true);
    this.sqeSize = flags & IORING_SETUP.SQE128 ? IoUringSqe.size * 2 : IoUringSqe.size;
    this.cqeSize = flags & IORING_SETUP.CQE32 ? IoUringCqe.size * 2 : IoUringCqe.size;
    const sq = (field: keyof typeof IoSqringOffsets): number =>
      params.getUint32(IoUringParams.sq_off + IoSqringOffsets[field], true);
    const cq = (field: keyof typeof IoCqringOffsets): number =>
      params.getUint32(IoUringParams.cq_off + IoCqringOffsets[field], true);

    const sqRingSize = sq('array') + this.sqEntries * 4;
    const cqRingSize = cq('cqes') + this.cqEntries * this.cqeSize;
    try {
      const rw = PROT.READ | PROT.WRITE;
      const shared = MAP.SHARED | MAP.POPULATE;
      if (this.features & IORING_FEAT.SINGLE_MMAP) {
        const both = this.map(Math.max(sqRingSize, cqRingSize), rw, shared, IORING_OFF.SQ_RING, 'io_uring rings');
        this.sqRing = new Uint32Array(viewOf(both));
        this.cqRing = this.sqRing;
      } else {
        this.sqRing = new Uint32Array(viewOf(this.map(sqRingSize, rw, shared, IORING_OFF.SQ_RING, 'io_uring SQ ring')));
        this.cqRing = new Uint32Array(viewOf(this.map(cqRingSize, rw, shared, IORING_OFF.CQ_RING, 'io_uring CQ ring')));
      }
      const sqeMemory = viewOf(this.map(this.sqEntries * this.sqeSize, rw, shared, IORING_OFF.SQES, 'io_uring SQEs'));
      this.sqeWords = new Uint32Array(sqeMemory);
      this.sqeZeroLanes = new Float64Array(sqeMemory);
      this.scratch = new HostMemory(SCRATCH_SQE_TS + this.sqEntries * KernelTimespec.size, 'io_uring scratch');
    } catch (error) {
      for (const mapping of this.mappings) munmap(mapping);
      close(fd);
      throw error;
    }
    this.scratchWords = this.scratch.u32();
    this.cqes = new Uint32Array(this.cqRing.buffer, cq('cqes'), (this.cqEntries * this.cqeSize) / 4);
    this.sqHeadIndex = sq('head') / 4;
    this.sqTailIndex = sq('tail') / 4;
    this.sqFlagsIndex = sq('flags') / 4;
    this.sqMask = this.sqRing[sq('ring_mask') / 4] ?? 0;
    this.cqHeadIndex = cq('head') / 4;
    this.cqTailIndex = cq('tail') / 4;
    this.cqMask = this.cqRing[cq('ring_mask') / 4] ?? 0;
    this.sqeStride = this.sqeSize / 4;
    this.cqeStride = this.cqeSize / 4;
    // The SQ index array maps ring slots to SQEs; slot i always holds SQE i, set once here.
    const array = new Uint32Array(this.sqRing.buffer, sq('array'), this.sqEntries);
    for (let i = 0; i < this.sqEntries; i++) array[i] = i;
    this.sqTail = Atomics.load(this.sqRing, this.sqTailIndex);
    this.sqHeadCached = Atomics.load(this.sqRing, this.sqHeadIndex);
  }

  private map(length: number, prot: number, flags: number, offset: number, what: string): Mapping {
    const mapping = mmap(length, prot, flags, this.fd, offset, what);
    this.mappings.push(mapping);
    return mapping;
  }

  /**
   * Creates a ring with `entries` SQEs (rounded up to a power of two by the kernel, at most
   * 32768). Failures say why: io_uring disabled, locked-memory limits, no io_uring at all.
   */
  static create(entries: number, options: RingOptions = {}): Ring {
    const params = new Uint8Array(IoUringParams.size);
    const view = new DataView(params.buffer);
    let flags = 0;
    if (options.sqe128 === true) flags |= IORING_SETUP.SQE128;
    if (options.cqe32 === true) flags |= IORING_SETUP.CQE32;
    if (options.coopTaskrun === true) flags |= IORING_SETUP.COOP_TASKRUN;
    if (options.singleIssuer === true) flags |= IORING_SETUP.SINGLE_ISSUER;
    if (options.deferTaskrun === true) flags |= IORING_SETUP.DEFER_TASKRUN;
    if (options.cqEntries !== undefined) {
      flags |= IORING_SETUP.CQSIZE;
      view.setUint32(IoUringParams.cq_entries, options.cqEntries, true);
    }
    view.setUint32(IoUringParams.flags, flags, true);
    let fd: number;
    try {
      fd = ioUringSetup(entries, params);
    } catch (error) {
      throw explainSetupFailure(error, entries);
    }
    return new Ring(fd, view);
  }

  /**
   * The index of a free SQE, or -1 when the submission queue is full (submit, then ask again).
   * Fill it with one prep* call; it goes to the kernel at the next submit.
   */
  getSqe(): number {
    // The kernel's head only moves forward: re-read it only when the cached one says full.
    if ((this.sqTail - this.sqHeadCached) >>> 0 >= this.sqEntries) {
      this.sqHeadCached = Atomics.load(this.sqRing, this.sqHeadIndex);
      if ((this.sqTail - this.sqHeadCached) >>> 0 >= this.sqEntries) return -1;
    }
    const index = this.sqTail & this.sqMask;
    this.sqTail = (this.sqTail + 1) >>> 0;
    return index;
  }

  /**
   * Makes room for `count` SQEs (at most the ring's size): when fewer are free, what is prepared
   * goes to the kernel first. A link chain prepared next then reaches the kernel in one submit
   * (one split by a submit would end at the split).
   */
  roomFor(count: number): void {
    this.sqHeadCached = Atomics.load(this.sqRing, this.sqHeadIndex);
    if (this.sqEntries - ((this.sqTail - this.sqHeadCached) >>> 0) < count) this.submit();
  }

  /** A free SQE, always: when the submission queue is full, what is prepared goes to the kernel first. */
  getSqeSubmitting(): number {
    let sqe = this.getSqe();
    if (sqe < 0) {
      this.submit(); // the SQ is full: hand it to the kernel, then there is room
      sqe = this.getSqe();
    }
    return sqe;
  }

  /**
   * Writes the 64-byte SQE core in full, as liburing's io_uring_prep_rw does, so no field keeps
   * a value from the SQE's previous use. 64-bit fields are written as two u32 halves (no BigInt).
   * SAFETY: `sqe` came from getSqe(), so its words lie inside the SQE mapping.
   */
  private prep(
    sqe: number,
    opcode: number,
    fd: number,
    address: number,
    length: number,
    offset: number,
    userData: number,
  ): number {
    const w = this.sqeWords;
    const base = sqe * this.sqeStride;
    w[base + W_OPCODE] = opcode; // flags and ioprio: 0
    w[base + W_FD] = fd;
    // offset -1 (all ones) means "the file's current position" for read/write.
    w[base + W_OFF] = offset >>> 0;
    w[base + W_OFF + 1] = offset < 0 ? 0xffff_ffff : high32(offset);
    w[base + W_ADDR] = address >>> 0;
    w[base + W_ADDR + 1] = high32(address);
    w[base + W_LEN] = length;
    w[base + W_RW_FLAGS] = 0;
    w[base + W_USER_DATA] = userData >>> 0;
    w[base + W_USER_DATA + 1] = high32(userData);
    this.clearTail(base);
    return base;
  }

  /** Zeroes SQE bytes 40-63 (buf_index, personality, file_index, addr3, pad): 3 stores, not 6. */
  private clearTail(base: number): void {
    const lane = base >>> 1;
    const z = this.sqeZeroLanes;
    z[lane + LANE_BUF_INDEX] = 0;
    z[lane + LANE_BUF_INDEX + 1] = 0;
    z[lane + LANE_BUF_INDEX + 2] = 0;
  }

  /** A no-op whose completion carries `userData` (an integer in [0, 2^53)). */
  prepNop(sqe: number, userData: number): void {
    const base = sqe * this.sqeStride;
    const w = this.sqeWords;
    const z = this.sqeZeroLanes;
    const lane = base >>> 1;
    // Only the words that are not zero are written as words; the rest as zero lanes.
    w[base + W_OPCODE] = IORING_OP.NOP;
    w[base + W_FD] = 0xffff_ffff; // fd -1
    z[lane + LANE_OFF] = 0; // off
    z[lane + LANE_OFF + 1] = 0; // addr
    z[lane + LANE_OFF + 2] = 0; // len, rw_flags
    w[base + W_USER_DATA] = userData >>> 0;
    w[base + W_USER_DATA + 1] = high32(userData);
    z[lane + LANE_BUF_INDEX] = 0;
    z[lane + LANE_BUF_INDEX + 1] = 0;
    z[lane + LANE_BUF_INDEX + 2] = 0;
  }

  /** read(2) of `length` bytes at file `offset` (-1: current position) into memory at `address`. */
  prepRead(sqe: number, fd: number, address: number, length: number, offset: number, userData: number): void {
    this.prep(sqe, IORING_OP.READ, fd, address, length, offset, userData);
  }

  /** write(2) of `length` bytes from memory at `address` to file `offset` (-1: current position). */
  prepWrite(sqe: number, fd: number, address: number, length: number, offset: number, userData: number): void {
    this.prep(sqe, IORING_OP.WRITE, fd, address, length, offset, userData);
  }

  /** writev(2) of `count` struct iovecs at `iovecs` to file `offset` (0 for a socket). */
  prepWritev(sqe: number, fd: number, iovecs: number, count: number, offset: number, userData: number): void {
    this.prep(sqe, IORING_OP.WRITEV, fd, iovecs, count, offset, userData);
  }

  /** A read into registered buffer `bufIndex` (`address` must lie inside it). */
  prepReadFixed(
    sqe: number,
    fd: number,
    address: number,
    length: number,
    offset: number,
    bufIndex: number,
    userData: number,
  ): void {
    const base = this.prep(sqe, IORING_OP.READ_FIXED, fd, address, length, offset, userData);
    this.sqeWords[base + W_BUF_INDEX] = bufIndex & 0xffff;
  }

  /** A write from registered buffer `bufIndex` (`address` must lie inside it). */
  prepWriteFixed(
    sqe: number,
    fd: number,
    address: number,
    length: number,
    offset: number,
    bufIndex: number,
    userData: number,
  ): void {
    const base = this.prep(sqe, IORING_OP.WRITE_FIXED, fd, address, length, offset, userData);
    this.sqeWords[base + W_BUF_INDEX] = bufIndex & 0xffff;
  }

  /** fallocate(2): `mode` FALLOC_FL_* (punch a hole, zero a range) over `length` bytes at `offset`. */
  prepFallocate(sqe: number, fd: number, mode: number, offset: number, length: number, userData: number): void {
    // The kernel reads fallocate's length from addr and its mode from len.
    this.prep(sqe, IORING_OP.FALLOCATE, fd, length, mode, offset, userData);
  }

  /** Sets a prepared read or write's RWF_* flags (RWF_DSYNC: this write alone is durable). */
  setRwFlags(sqe: number, flags: number): void {
    this.sqeWords[sqe * this.sqeStride + W_RW_FLAGS] = flags;
  }

  /** fsync(2), or fdatasync(2) with `dataOnly`. */
  prepFsync(sqe: number, fd: number, dataOnly: boolean, userData: number): void {
    const base = this.prep(sqe, IORING_OP.FSYNC, fd, 0, 0, 0, userData);
    this.sqeWords[base + W_RW_FLAGS] = dataOnly ? IORING_FSYNC.DATASYNC : 0;
  }

  /**
   * A timeout that completes with -ETIME after `nanoseconds`, or with 0 once `count` other
   * completions have arrived (0: time only). `flags` are IORING_TIMEOUT_*.
   */
  prepTimeout(sqe: number, nanoseconds: number, count: number, flags: number, userData: number): void {
    const slot = SCRATCH_SQE_TS + sqe * KernelTimespec.size;
    this.writeTimespec(slot, nanoseconds);
    const base = this.prep(sqe, IORING_OP.TIMEOUT, -1, this.scratch.address + slot, 1, count, userData);
    this.sqeWords[base + W_RW_FLAGS] = flags;
  }

  /** Cancels the request whose user_data is `targetUserData` (flags: IORING_ASYNC_CANCEL_*). */
  prepCancel(sqe: number, targetUserData: number, flags: number, userData: number): void {
    const base = this.prep(sqe, IORING_OP.ASYNC_CANCEL, -1, targetUserData, 0, 0, userData);
    this.sqeWords[base + W_RW_FLAGS] = flags;
  }

  /**
   * A driver command (IORING_OP_URING_CMD) `cmdOp` on `fd`, its command area zeroed. Returns the
   * index in sqeWords where the command area starts: 4 words long, or 20 with SQE128.
   * `sqeAddress` and `sqeLength`: the SQE's own addr and len, which some drivers read (ublk's
   * AUTO_BUF_REG index; a batch command's element buffer).
   */
  prepUringCmd(sqe: number, fd: number, cmdOp: number, userData: number, sqeAddress = 0, sqeLength = 0): number {
    const base = this.prep(sqe, IORING_OP.URING_CMD, fd, sqeAddress, sqeLength, 0, userData);
    // cmd_op shares the 64-bit `off` field; the command area runs to the end of the SQE.
    this.sqeWords[base + W_OFF] = cmdOp;
    this.sqeWords.fill(0, base + W_CMD, base + this.sqeStride);
    return base + W_CMD;
  }

  /**
   * Makes a prepared driver command multishot (IORING_URING_CMD_MULTISHOT): it completes again
   * and again (IORING_CQE_F_MORE) into buffers the kernel takes from provided buffer group `group`.
   */
  setUringCmdMultishot(sqe: number, group: number): void {
    this.sqeWords[sqe * this.sqeStride + W_RW_FLAGS] = IORING_URING_CMD.MULTISHOT;
    this.selectBuffer(sqe, group);
  }

  /** A prepared request takes its buffer from provided buffer group `group` (IOSQE_BUFFER_SELECT). */
  selectBuffer(sqe: number, group: number): void {
    const index = sqe * this.sqeStride + W_BUF_INDEX; // buf_group shares the word with personality
    this.sqeWords[index] = ((this.sqeWords[index] ?? 0) & 0xffff_0000) | (group & 0xffff);
    this.orSqeFlags(sqe, IOSQE.BUFFER_SELECT);
  }

  /**
   * Registers a ring of provided buffers (IORING_REGISTER_PBUF_RING) for group `group`: `entries`
   * io_uring_buf slots at `ringAddress` (page aligned), which must stay mapped until close().
   */
  registerBufferRing(ringAddress: number, entries: number, group: number, flags: number): void {
    registerBufferRing(this.fd, ringAddress, entries, group, flags);
  }

  /** Sets IOSQE_* flags (fixed file, link, drain…) on a prepared SQE. */
  setSqeFlags(sqe: number, flags: number): void {
    const index = sqe * this.sqeStride + W_OPCODE;
    this.sqeWords[index] = ((this.sqeWords[index] ?? 0) & ~0xff00) | ((flags & 0xff) << 8);
  }

  /** Adds IOSQE_* flags to those already set on a prepared SQE. */
  orSqeFlags(sqe: number, flags: number): void {
    const index = sqe * this.sqeStride + W_OPCODE;
    this.sqeWords[index] = (this.sqeWords[index] ?? 0) | ((flags & 0xff) << 8);
  }

  /** SQEs prepared but not yet handed to the kernel. */
  pendingSubmissions(): number {
    return (this.sqTail - (this.sqRing[this.sqTailIndex] ?? 0)) >>> 0;
  }

  /**
   * Publishes prepared SQEs by moving the SQ tail. A plain store suffices: without SQPOLL (which
   * Ring does not offer) the kernel reads the tail only inside io_uring_enter, which this thread
   * calls afterwards, and neither V8 nor x86 moves a store past a later call.
   */
  private publish(): number {
    const pending = (this.sqTail - (this.sqRing[this.sqTailIndex] ?? 0)) >>> 0;
    this.sqRing[this.sqTailIndex] = this.sqTail;
    return pending;
  }

  /** Hands prepared SQEs to the kernel without waiting; returns how many it took. */
  submit(): number {
    return this.submitAndWait(0);
  }

  /**
   * Hands prepared SQEs to the kernel and waits until at least `waitFor` completions are ready,
   * or until `timeoutNanoseconds` pass (if given, ≥ 0). Returns how many SQEs the kernel took.
   * A signal or a timeout ends the wait early: check completionsReady() for what arrived.
   */
  submitAndWait(waitFor: number, timeoutNanoseconds = -1): number {
    if (timeoutNanoseconds >= 0 && waitFor > 0) return this.submitAndWaitUntil(waitFor, timeoutNanoseconds);
    // The hot path: one io_uring_enter, which submits and then waits for `waitFor` completions.
    const toSubmit = this.publish();
    const result = ioUringEnter(this.fd, toSubmit, waitFor, waitFor > 0 ? IORING_ENTER.GETEVENTS : 0, 0, 0);
    return result >= 0 ? result : this.enterFailed(result, toSubmit, waitFor);
  }

  /**
   * Busy-polls: hands prepared SQEs to the kernel, then enters without waiting, up to `enters`
   * times, until a completion is ready. Each enter also runs the task work that posts
   * completions (COOP_TASKRUN defers it to the next kernel entry). Returns how many enters it
   * made; completionsReady() says whether it caught one.
   */
  spinForCompletion(enters: number): number {
    for (let i = 1; i <= enters; i++) {
      const toSubmit = this.publish();
      const result = ioUringEnter(this.fd, toSubmit, 0, IORING_ENTER.GETEVENTS, 0, 0);
      if (result < 0) this.enterFailed(result, toSubmit, 0);
      if (this.completionsReady() > 0) return i;
    }
    return enters;
  }

  private submitAndWaitUntil(waitFor: number, timeoutNanoseconds: number): number {
    if ((this.features & IORING_FEAT.EXT_ARG) === 0)
      throw new Error('io_uring: this kernel lacks IORING_FEAT_EXT_ARG (5.11+), needed for a wait with a timeout');
    let toSubmit = this.publish();
    const deadline = nowMs() + timeoutNanoseconds / 1e6;
    this.prepareWaitArgument(timeoutNanoseconds);
    const flags = IORING_ENTER.GETEVENTS | IORING_ENTER.EXT_ARG;
    let submitted = 0;
    for (;;) {
      const result = ioUringEnter(
        this.fd,
        toSubmit,
        waitFor,
        flags,
        this.scratch.address + SCRATCH_GETEVENTS,
        IoUringGeteventsArg.size,
      );
      if (result < 0) return submitted + this.enterFailed(result, toSubmit, waitFor);
      submitted += result;
      toSubmit -= result;
      if (this.completionsReady() >= waitFor) return submitted;
      // Having submitted something, the kernel returns that count even when the wait timed out
      // or did not happen: wait again, for what is left of the timeout.
      const remaining = (deadline - nowMs()) * 1e6;
      if (remaining <= 0) return submitted;
      this.prepareWaitArgument(remaining);
    }
  }

  /**
   * A negative io_uring_enter result. Timed out, interrupted by a signal, or a full CQ with
   * completions held back in the kernel (drain first): each ends the wait, none is a failure.
   */
  private enterFailed(result: number, toSubmit: number, waitFor: number): number {
    if (result === -ETIME || result === -EINTR || result === -EBUSY || result === -EAGAIN) return 0;
    throw new SyscallError('io_uring_enter', -result, `fd=${this.fd}, to_submit=${toSubmit}, min_complete=${waitFor}`);
  }

  private prepareWaitArgument(nanoseconds: number): void {
    const w = this.scratchWords;
    const arg = SCRATCH_GETEVENTS / 4;
    w[arg + IoUringGeteventsArg.sigmask / 4] = 0;
    w[arg + IoUringGeteventsArg.sigmask / 4 + 1] = 0;
    w[arg + IoUringGeteventsArg.sigmask_sz / 4] = 8;
    w[arg + IoUringGeteventsArg.min_wait_usec / 4] = 0;
    const tsAddress = this.scratch.address + SCRATCH_WAIT_TS;
    w[arg + IoUringGeteventsArg.ts / 4] = tsAddress >>> 0;
    w[arg + IoUringGeteventsArg.ts / 4 + 1] = (tsAddress / TWO_32) >>> 0;
    this.writeTimespec(SCRATCH_WAIT_TS, nanoseconds);
  }

  private writeTimespec(byteOffset: number, nanoseconds: number): void {
    const seconds = Math.floor(nanoseconds / 1e9);
    const w = this.scratchWords;
    const i = byteOffset / 4;
    w[i + KernelTimespec.tv_sec / 4] = seconds >>> 0;
    w[i + KernelTimespec.tv_sec / 4 + 1] = (seconds / TWO_32) >>> 0;
    w[i + KernelTimespec.tv_nsec / 4] = Math.floor(nanoseconds - seconds * 1e9);
    w[i + KernelTimespec.tv_nsec / 4 + 1] = 0;
  }

  /** Completions waiting in the CQ ring. */
  completionsReady(): number {
    return (Atomics.load(this.cqRing, this.cqTailIndex) - Atomics.load(this.cqRing, this.cqHeadIndex)) >>> 0;
  }

  /** True while the kernel holds completions that did not fit in the CQ ring. */
  overflowPending(): boolean {
    return (Atomics.load(this.sqRing, this.sqFlagsIndex) & IORING_SQ.CQ_OVERFLOW) !== 0;
  }

  /**
   * The completion API for hot loops, which the JIT inlines (no callback per CQE):
   *
   * ```ts
   * const end = ring.completionEnd();
   * for (let at = ring.completionStart(); at !== end; at = (at + 1) >>> 0) {
   *   handle(ring.cqeUserData(at), ring.cqeResult(at));
   * }
   * ring.completionsConsumed(end);
   * ```
   * Positions count CQEs forever (mod 2^32); `at` stays valid until completionsConsumed.
   */
  completionStart(): number {
    return Atomics.load(this.cqRing, this.cqHeadIndex);
  }

  /** One past the last ready CQE (acquire: the kernel wrote the CQEs before moving the tail). */
  completionEnd(): number {
    return Atomics.load(this.cqRing, this.cqTailIndex);
  }

  /** The user_data of the CQE at position `at`. SAFETY: `at` lies in [completionStart, completionEnd). */
  cqeUserData(at: number): number {
    const base = (at & this.cqMask) * this.cqeStride;
    return (this.cqes[base] ?? 0) + (this.cqes[base + 1] ?? 0) * TWO_32;
  }

  /** The low 32 bits of the CQE's user_data: one load, for rings whose user_data stays below 2^32. */
  cqeUserDataLow(at: number): number {
    return this.cqes[(at & this.cqMask) * this.cqeStride] ?? 0;
  }

  /** The result (res) of the CQE at position `at`: ≥ 0 on success, -errno on failure. */
  cqeResult(at: number): number {
    return (this.cqes[(at & this.cqMask) * this.cqeStride + 2] ?? 0) | 0;
  }

  /** The flags of the CQE at position `at` (IORING_CQE_F_*). */
  cqeFlags(at: number): number {
    return this.cqes[(at & this.cqMask) * this.cqeStride + 3] ?? 0;
  }

  /**
   * Frees every CQE before position `end` for the kernel to reuse. When the CQ ring had
   * overflowed, the completions the kernel held back are moved into it (ready to read next).
   */
  completionsConsumed(end: number): void {
    // Release store: the kernel may reuse the slots only after we have read them.
    Atomics.store(this.cqRing, this.cqHeadIndex, end);
    if ((Atomics.load(this.sqRing, this.sqFlagsIndex) & IORING_SQ.CQ_OVERFLOW) !== 0) {
      // Entering with GETEVENTS moves overflowed completions into the now free slots.
      ioUringEnter(this.fd, 0, 0, IORING_ENTER.GETEVENTS, 0, 0);
    }
  }

  /**
   * Hands every ready completion to `handler`, frees their slots, and returns how many,
   * including those the kernel held back after a CQ overflow.
   */
  drainCompletions(handler: CompletionHandler): number {
    let count = 0;
    for (;;) {
      const end = this.completionEnd();
      let at = this.completionStart();
      if (at === end) return count;
      for (; at !== end; at = (at + 1) >>> 0) {
        count++;
        handler(this.cqeUserData(at), this.cqeResult(at), this.cqeFlags(at));
      }
      this.completionsConsumed(end);
    }
  }

  /** Registers file descriptors; SQEs then name them by index with IOSQE_FIXED_FILE. */
  registerFiles(fds: readonly number[]): void {
    registerFiles(this.fd, fds);
  }

  unregisterFiles(): void {
    ioUringRegister(this.fd, IORING_REGISTER.UNREGISTER_FILES, 0, 0, 'IORING_UNREGISTER_FILES');
  }

  /**
   * Registers buffers for READ_FIXED/WRITE_FIXED: the kernel pins their pages once instead of
   * per I/O. The memory must stay mapped until unregisterBuffers() or close().
   */
  registerBuffers(buffers: ReadonlyArray<{ readonly address: number; readonly length: number }>): void {
    registerBuffers(this.fd, buffers);
  }

  /**
   * Registers an empty table of `count` fixed buffers (IORING_REGISTER_BUFFERS2, sparse), whose
   * slots the kernel fills: ublk's AUTO_BUF_REG puts each request's pages at the slot the
   * command names, for READ_FIXED/WRITE_FIXED, and takes them out at its commit.
   */
  registerSparseBuffers(count: number): void {
    registerSparseBuffers(this.fd, count);
  }

  unregisterBuffers(): void {
    ioUringRegister(this.fd, IORING_REGISTER.UNREGISTER_BUFFERS, 0, 0, 'IORING_UNREGISTER_BUFFERS');
  }

  /**
   * Releases everything: mappings, scratch memory, the fd. Safe to call twice. Registrations go
   * with the ring: unregistering first would wait for every request still using a registered
   * file, and a request that never completes (a ublk fetch on a device never started) would
   * hang it; closing the fd cancels such requests instead.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const empty = new Uint32Array(0);
    this.sqRing = this.cqRing = this.sqeWords = this.cqes = empty;
    this.sqeZeroLanes = new Float64Array(0);
    for (const mapping of this.mappings) munmap(mapping);
    this.scratch.free();
    close(this.fd);
  }
}

function explainSetupFailure(error: unknown, entries: number): unknown {
  if (!(error instanceof SyscallError)) return error;
  const hint: Record<string, string> = {
    ENOSYS: 'this kernel has no io_uring',
    EPERM: 'io_uring is disabled for this process: see sysctl kernel.io_uring_disabled',
    ENOMEM: 'not enough locked memory for the rings: raise RLIMIT_MEMLOCK (ulimit -l) or use fewer entries',
    EINVAL: `invalid ring parameters: entries=${entries} must be 1..32768, and every setup flag known to this kernel`,
  };
  const why = hint[error.code];
  return why === undefined ? error : new SyscallError(error.call, error.errno, error.target, why);
}
