import {
  IORING_ENTER,
  IORING_FEAT,
  IORING_OFF_CQ_RING,
  IORING_OFF_SQES,
  IORING_OFF_SQ_RING,
  IORING_OP,
  IORING_SETUP,
  IoCqringOffsets,
  IoSqringOffsets,
  IoUringCqe,
  IoUringParams,
  IoUringSqe,
} from '../../native-bindings/io_uring.js';
import { MAP, type Mapping, PROT, close, ioUringEnter, ioUringSetup, mmap, munmap, viewOf } from '../../native-bindings/libc.js';
import { SyscallError } from '../../native-bindings/errors.js';

export interface RingOptions {
  /** 128-byte SQEs (the 80-byte command area ublk's control commands need). */
  readonly sqe128?: boolean;
  /** 32-byte CQEs. */
  readonly cqe32?: boolean;
  readonly coopTaskrun?: boolean;
  readonly singleIssuer?: boolean;
  readonly deferTaskrun?: boolean;
}

/** Called once per completion; create it once, outside any loop (the hot path makes no closures). */
export type CompletionHandler = (userData: number, result: number, flags: number) => void;

const TWO_32 = 0x1_0000_0000;
const EINTR = 4;

/**
 * An io_uring instance: the submission and completion rings shared with the kernel, and the SQE
 * array. One thread owns a ring; nothing here is safe to share between threads.
 */
export class Ring {
  readonly sqEntries: number;
  readonly cqEntries: number;
  /** Bytes per SQE: 64, or 128 with SQE128. */
  readonly sqeSize: number;
  /** IORING_FEAT_* bits the kernel reported. */
  readonly features: number;

  private readonly mappings: Mapping[];
  // Views of the shared rings, created once. SAFETY: the mappings live until close(), which
  // drops these views first; the kernel writes the CQ tail and SQ head, we write the others.
  private sqRing: Uint32Array;
  private cqRing: Uint32Array;
  private sqes: Uint32Array;
  private cqes: Uint32Array;
  private readonly sqHeadIndex: number;
  private readonly sqTailIndex: number;
  private readonly sqMask: number;
  private readonly cqHeadIndex: number;
  private readonly cqTailIndex: number;
  private readonly cqMask: number;
  private readonly sqeWords: number;
  private readonly cqeWords: number;
  /** Our local SQ tail: SQEs handed out by getSqe() but not yet published to the kernel. */
  private sqTail: number;
  private closed = false;

  private constructor(
    readonly fd: number,
    params: DataView,
  ) {
    this.sqEntries = params.getUint32(IoUringParams.sq_entries, true);
    this.cqEntries = params.getUint32(IoUringParams.cq_entries, true);
    this.features = params.getUint32(IoUringParams.features, true);
    const flags = params.getUint32(IoUringParams.flags, true);
    this.sqeSize = flags & IORING_SETUP.SQE128 ? IoUringSqe.size * 2 : IoUringSqe.size;
    const cqeSize = flags & IORING_SETUP.CQE32 ? IoUringCqe.size * 2 : IoUringCqe.size;
    const sq = (field: keyof typeof IoSqringOffsets): number => params.getUint32(IoUringParams.sq_off + IoSqringOffsets[field], true);
    const cq = (field: keyof typeof IoCqringOffsets): number => params.getUint32(IoUringParams.cq_off + IoCqringOffsets[field], true);

    const sqRingSize = sq('array') + this.sqEntries * 4;
    const cqRingSize = cq('cqes') + this.cqEntries * cqeSize;
    this.mappings = [];
    try {
      const rw = PROT.READ | PROT.WRITE;
      const shared = MAP.SHARED | MAP.POPULATE;
      if (this.features & IORING_FEAT.SINGLE_MMAP) {
        const both = mmap(Math.max(sqRingSize, cqRingSize), rw, shared, fd, IORING_OFF_SQ_RING, 'io_uring rings');
        this.mappings.push(both);
        this.sqRing = new Uint32Array(viewOf(both));
        this.cqRing = this.sqRing;
      } else {
        const sqMap = mmap(sqRingSize, rw, shared, fd, IORING_OFF_SQ_RING, 'io_uring SQ ring');
        this.mappings.push(sqMap);
        const cqMap = mmap(cqRingSize, rw, shared, fd, IORING_OFF_CQ_RING, 'io_uring CQ ring');
        this.mappings.push(cqMap);
        this.sqRing = new Uint32Array(viewOf(sqMap));
        this.cqRing = new Uint32Array(viewOf(cqMap));
      }
      const sqeMap = mmap(this.sqEntries * this.sqeSize, rw, shared, fd, IORING_OFF_SQES, 'io_uring SQEs');
      this.mappings.push(sqeMap);
      this.sqes = new Uint32Array(viewOf(sqeMap));
    } catch (error) {
      for (const mapping of this.mappings) munmap(mapping);
      close(fd);
      throw error;
    }
    this.cqes = new Uint32Array(this.cqRing.buffer, cq('cqes'), this.cqEntries * (cqeSize / 4));
    this.sqHeadIndex = sq('head') / 4;
    this.sqTailIndex = sq('tail') / 4;
    this.sqMask = this.sqRing[sq('ring_mask') / 4] ?? 0;
    this.cqHeadIndex = cq('head') / 4;
    this.cqTailIndex = cq('tail') / 4;
    this.cqMask = this.cqRing[cq('ring_mask') / 4] ?? 0;
    this.sqeWords = this.sqeSize / 4;
    this.cqeWords = cqeSize / 4;
    // The SQ index array maps ring slots to SQEs; slot i always holds SQE i, set once here.
    const array = new Uint32Array(this.sqRing.buffer, sq('array'), this.sqEntries);
    for (let i = 0; i < this.sqEntries; i++) array[i] = i;
    this.sqTail = Atomics.load(this.sqRing, this.sqTailIndex);
  }

  /** Creates a ring with `entries` SQEs (a power of two, up to 32768). */
  static create(entries: number, options: RingOptions = {}): Ring {
    const params = new Uint8Array(IoUringParams.size);
    const view = new DataView(params.buffer);
    let flags = 0;
    if (options.sqe128 === true) flags |= IORING_SETUP.SQE128;
    if (options.cqe32 === true) flags |= IORING_SETUP.CQE32;
    if (options.coopTaskrun === true) flags |= IORING_SETUP.COOP_TASKRUN;
    if (options.singleIssuer === true) flags |= IORING_SETUP.SINGLE_ISSUER;
    if (options.deferTaskrun === true) flags |= IORING_SETUP.DEFER_TASKRUN;
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
   * The index of a free SQE, zeroed, or -1 when the submission queue is full (submit first).
   * Write it with a prep* method; it goes to the kernel at the next submit.
   */
  getSqe(): number {
    const head = Atomics.load(this.sqRing, this.sqHeadIndex);
    if (((this.sqTail - head) >>> 0) >= this.sqEntries) return -1;
    const index = this.sqTail & this.sqMask;
    this.sqTail = (this.sqTail + 1) >>> 0;
    const base = index * this.sqeWords;
    this.sqes.fill(0, base, base + this.sqeWords);
    return index;
  }

  /** A no-op whose completion carries `userData` (an integer in [0, 2^53)). */
  prepNop(sqe: number, userData: number): void {
    const base = sqe * this.sqeWords;
    // SAFETY: sqe came from getSqe(), so base..base+sqeWords lies inside the SQE mapping.
    this.sqes[base] = IORING_OP.NOP;
    this.setUserData(base, userData);
  }

  private setUserData(base: number, userData: number): void {
    this.sqes[base + IoUringSqe.user_data / 4] = userData >>> 0;
    this.sqes[base + IoUringSqe.user_data / 4 + 1] = Math.floor(userData / TWO_32);
  }

  /** SQEs prepared but not yet handed to the kernel. */
  pendingSubmissions(): number {
    return (this.sqTail - Atomics.load(this.sqRing, this.sqTailIndex)) >>> 0;
  }

  /** Publishes prepared SQEs and enters the kernel, waiting for `waitFor` completions. */
  submitAndWait(waitFor: number): number {
    const toSubmit = this.pendingSubmissions();
    // Release store: the kernel must see the SQE contents before it sees the new tail.
    Atomics.store(this.sqRing, this.sqTailIndex, this.sqTail);
    const flags = waitFor > 0 ? IORING_ENTER.GETEVENTS : 0;
    for (;;) {
      const result = ioUringEnter(this.fd, toSubmit, waitFor, flags, 0, 0);
      if (result >= 0) return result;
      // A signal interrupted the wait; the submissions, if any, were already consumed.
      if (result === -EINTR) {
        if (waitFor === 0 || this.completionsReady() >= waitFor) return 0;
        continue;
      }
      throw new SyscallError('io_uring_enter', -result, `fd=${this.fd}, to_submit=${toSubmit}, min_complete=${waitFor}`);
    }
  }

  /** Publishes prepared SQEs without waiting. */
  submit(): number {
    return this.submitAndWait(0);
  }

  /** Completions waiting in the CQ ring. */
  completionsReady(): number {
    return (Atomics.load(this.cqRing, this.cqTailIndex) - Atomics.load(this.cqRing, this.cqHeadIndex)) >>> 0;
  }

  /** Hands every ready completion to `handler`, frees their slots, and returns how many. */
  drainCompletions(handler: CompletionHandler): number {
    let head = Atomics.load(this.cqRing, this.cqHeadIndex);
    const tail = Atomics.load(this.cqRing, this.cqTailIndex);
    let count = 0;
    while (head !== tail) {
      const base = (head & this.cqMask) * this.cqeWords;
      // SAFETY: base indexes a CQE inside the CQ mapping; the kernel wrote it before moving the tail.
      const userData = (this.cqes[base] ?? 0) + (this.cqes[base + 1] ?? 0) * TWO_32;
      const result = (this.cqes[base + IoUringCqe.res / 4] ?? 0) | 0;
      const flags = this.cqes[base + IoUringCqe.flags / 4] ?? 0;
      head = (head + 1) >>> 0;
      count++;
      handler(userData, result, flags);
    }
    // Release store: the slots may be reused by the kernel only after we have read them.
    Atomics.store(this.cqRing, this.cqHeadIndex, head);
    return count;
  }

  /** Unmaps the rings and closes the fd; the ring is unusable afterwards. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const empty = new Uint32Array(0);
    this.sqRing = this.cqRing = this.sqes = this.cqes = empty;
    for (const mapping of this.mappings) munmap(mapping);
    close(this.fd);
  }
}

function explainSetupFailure(error: unknown, entries: number): unknown {
  if (!(error instanceof SyscallError)) return error;
  const hint: Record<string, string> = {
    ENOSYS: 'this kernel has no io_uring',
    EPERM: 'io_uring is disabled for this process: see sysctl kernel.io_uring_disabled',
    ENOMEM: 'not enough locked memory for the rings: raise RLIMIT_MEMLOCK (ulimit -l) or use fewer entries',
    EINVAL: `invalid ring parameters (entries=${entries} must be a power of two ≤ 32768; check the setup flags this kernel supports)`,
  };
  const why = hint[error.code];
  return why === undefined ? error : new SyscallError(error.call, error.errno, error.target, why);
}
