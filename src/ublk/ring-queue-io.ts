import { IOSQE, RWF } from '../../native-bindings/io_uring.js';
import { HostMemory } from '../../native-bindings/host-memory.js';
import { preadRaw, pwriteRaw } from '../../native-bindings/libc.js';
import { UBLKSRV_IO_BUF_OFFSET, UBLK_QID_OFF, UBLK_TAG_OFF } from '../../native-bindings/ublk_cmd.js';
import type { QueueIo } from '../blk/queue-io.js';
import type { Request } from '../blk/request.js';
import type { Ring } from '../uring/ring.js';
import { UserDataKind, encodeUserData } from './user-data.js';

const QID_SCALE = 2 ** UBLK_QID_OFF;
/** The most one registered buffer may span (io_uring refuses larger iovecs). */
const FIXED_BUFFER_MAX = 2 ** 30;
const TAG_SCALE = 2 ** UBLK_TAG_OFF;

/** Where a request's pages are in /dev/ublkcN's user-copy window (exact: below 2^53 for any qid < 4096). */
export function userCopyPosition(queueId: number, tag: number, offset: number): number {
  return UBLKSRV_IO_BUF_OFFSET + queueId * QID_SCALE + tag * TAG_SCALE + offset;
}

/** QueueIo on a queue's ring (every SQE carries the request's tag and the TargetIo kind) and its char device. */
export class RingQueueIo implements QueueIo {
  private lastSqe = -1;
  /** Per tag: the fixed buffer holding its request buffer, or -1 when none is registered. */
  private readonly fixedIndex: Int16Array;
  /** What allocate() handed out: freed by release(), after the ring is closed. */
  private readonly allocated: HostMemory[] = [];

  constructor(
    private readonly ring: Ring,
    private readonly queueId: number,
    /** /dev/ublkcN, for user copy. */
    private readonly charFd: number,
    readonly depth: number,
    /** The per-tag request buffers, one after another (copy data path), or null (user copy, zero copy). */
    private readonly requestBuffers: { readonly address: number; readonly bytesPerTag: number } | null,
    /** UBLK_F_AUTO_BUF_REG: each request's pages are the ring's fixed buffer `tag`, from offset 0. */
    readonly zeroCopy = false,
    /** The device's log (rate-limited). */
    private readonly logLine: (message: string) => void = () => {},
  ) {
    this.fixedIndex = new Int16Array(depth).fill(-1);
    // SAFETY: a kernel-registered buffer starts at address 0: READ_FIXED/WRITE_FIXED address an
    // offset into the request, which the kernel bounds by the request's length.
    if (zeroCopy) for (let tag = 0; tag < depth; tag++) this.fixedIndex[tag] = tag;
  }

  useFixedRequestBuffers(): boolean {
    if (this.zeroCopy) return true; // the kernel registered them
    const buffers = this.requestBuffers;
    if (buffers === null || buffers.bytesPerTag > FIXED_BUFFER_MAX) return false;
    // Whole tags per registered buffer, each buffer at most 1 GiB.
    const tagsPerBuffer = Math.min(this.depth, Math.floor(FIXED_BUFFER_MAX / buffers.bytesPerTag));
    const regions: Array<{ address: number; length: number }> = [];
    for (let first = 0; first < this.depth; first += tagsPerBuffer) {
      const tags = Math.min(tagsPerBuffer, this.depth - first);
      regions.push({ address: buffers.address + first * buffers.bytesPerTag, length: tags * buffers.bytesPerTag });
    }
    try {
      this.ring.registerBuffers(regions);
    } catch {
      return false; // ENOMEM: over RLIMIT_MEMLOCK without CAP_IPC_LOCK; plain reads and writes serve
    }
    for (let tag = 0; tag < this.depth; tag++) this.fixedIndex[tag] = Math.floor(tag / tagsPerBuffer);
    return true;
  }

  readIntoRequest(rq: Request<unknown>, fd: number, length: number, position: number, offset: number): void {
    this.requestIo(false, rq, fd, length, position, offset, encodeUserData(rq.tag, UserDataKind.TargetIo));
  }

  writeFromRequest(
    rq: Request<unknown>,
    fd: number,
    length: number,
    position: number,
    offset: number,
    durable: boolean,
  ): void {
    const sqe = this.requestIo(true, rq, fd, length, position, offset, encodeUserData(rq.tag, UserDataKind.TargetIo));
    if (durable) this.ring.setRwFlags(sqe, RWF.DSYNC);
  }

  /**
   * A read into (or write from) the request's data at `offset`, with file or socket `fd` at
   * `position`: READ_FIXED/WRITE_FIXED where the request's buffer is a fixed buffer. Returns the SQE.
   */
  private requestIo(
    write: boolean,
    rq: Request<unknown>,
    fd: number,
    length: number,
    position: number,
    offset: number,
    userData: number,
  ): number {
    const address = this.requestAddress(rq) + offset;
    const index = this.fixedIndex[rq.tag] ?? -1;
    const sqe = this.sqe();
    if (index >= 0) {
      if (write) this.ring.prepWriteFixed(sqe, fd, address, length, position, index, userData);
      else this.ring.prepReadFixed(sqe, fd, address, length, position, index, userData);
    } else if (write) this.ring.prepWrite(sqe, fd, address, length, position, userData);
    else this.ring.prepRead(sqe, fd, address, length, position, userData);
    return sqe;
  }

  fallocateFile(rq: Request<unknown>, fd: number, mode: number, position: number, length: number): void {
    this.ring.prepFallocate(this.sqe(), fd, mode, position, length, encodeUserData(rq.tag, UserDataKind.TargetIo));
  }

  /** The request's buffer (0 with zero copy: a fixed buffer's offsets start there); user copy has none. */
  private requestAddress(rq: Request<unknown>): number {
    if (this.zeroCopy) return 0;
    if (this.requestBuffers === null)
      throw new Error('file I/O into a request needs the copy data path: the target must plan dataPath "copy"');
    return rq.bufferAddress;
  }

  /** A free SQE; when the SQ is full, what is queued goes to the kernel first. */
  private sqe(): number {
    const sqe = this.ring.getSqeSubmitting();
    this.lastSqe = sqe;
    return sqe;
  }

  copyFromRequest(rq: Request<unknown>, address: number, length: number, offset: number): number {
    return preadRaw(this.charFd, address, length, userCopyPosition(this.queueId, rq.tag, offset));
  }

  copyToRequest(rq: Request<unknown>, address: number, length: number, offset: number): number {
    return pwriteRaw(this.charFd, address, length, userCopyPosition(this.queueId, rq.tag, offset));
  }

  readFile(rq: Request<unknown>, fd: number, address: number, length: number, position: number): void {
    this.ring.prepRead(this.sqe(), fd, address, length, position, encodeUserData(rq.tag, UserDataKind.TargetIo));
  }

  writeFile(rq: Request<unknown>, fd: number, address: number, length: number, position: number): void {
    this.ring.prepWrite(this.sqe(), fd, address, length, position, encodeUserData(rq.tag, UserDataKind.TargetIo));
  }

  syncFile(rq: Request<unknown>, fd: number, dataOnly: boolean): void {
    this.ring.prepFsync(this.sqe(), fd, dataOnly, encodeUserData(rq.tag, UserDataKind.TargetIo));
  }

  writeStream(stream: number, fd: number, iovecs: number, count: number): void {
    this.ring.prepWritev(this.sqe(), fd, iovecs, count, 0, encodeUserData(stream, UserDataKind.TargetStream));
  }

  readStream(stream: number, fd: number, address: number, length: number): void {
    this.ring.prepRead(this.sqe(), fd, address, length, 0, encodeUserData(stream, UserDataKind.TargetStream));
  }

  readStreamIntoRequest(stream: number, fd: number, rq: Request<unknown>, length: number, offset: number): void {
    this.requestIo(false, rq, fd, length, 0, offset, encodeUserData(stream, UserDataKind.TargetStream));
  }

  writeStreamFromRequest(stream: number, fd: number, rq: Request<unknown>, length: number, offset: number): void {
    this.requestIo(true, rq, fd, length, 0, offset, encodeUserData(stream, UserDataKind.TargetStream));
  }

  allocate(length: number, what: string): HostMemory {
    const memory = new HostMemory(length, what);
    this.allocated.push(memory);
    return memory;
  }

  log(message: string): void {
    this.logLine(message);
  }

  /** Frees what allocate() handed out: only once the ring is closed (nothing in flight can reach it). */
  release(): void {
    for (const memory of this.allocated.splice(0)) memory.free();
  }

  roomFor(count: number): void {
    this.ring.roomFor(count);
  }

  linkLast(): void {
    if (this.lastSqe < 0) throw new Error('linkLast: no I/O queued to link from');
    this.ring.orSqeFlags(this.lastSqe, IOSQE.IO_LINK);
  }
}
