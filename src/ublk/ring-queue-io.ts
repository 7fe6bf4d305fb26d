import { IOSQE } from '../../native-bindings/io_uring.js';
import { preadRaw, pwriteRaw } from '../../native-bindings/libc.js';
import { UBLKSRV_IO_BUF_OFFSET, UBLK_QID_OFF, UBLK_TAG_OFF } from '../../native-bindings/ublk_cmd.js';
import type { QueueIo } from '../blk/queue-io.js';
import type { Request } from '../blk/request.js';
import type { Ring } from '../uring/ring.js';
import { UserDataKind, encodeUserData } from './user-data.js';

const QID_SCALE = 2 ** UBLK_QID_OFF;
const TAG_SCALE = 2 ** UBLK_TAG_OFF;

/** Where a request's pages are in /dev/ublkcN's user-copy window (exact: below 2^53 for any qid < 4096). */
export function userCopyPosition(queueId: number, tag: number, offset: number): number {
  return UBLKSRV_IO_BUF_OFFSET + queueId * QID_SCALE + tag * TAG_SCALE + offset;
}

/** QueueIo on a queue's ring (every SQE carries the request's tag and the TargetIo kind) and its char device. */
export class RingQueueIo implements QueueIo {
  private lastSqe = -1;

  constructor(
    private readonly ring: Ring,
    private readonly queueId: number,
    /** /dev/ublkcN, for user copy. */
    private readonly charFd: number,
    readonly depth: number,
  ) {}

  /** A free SQE; when the SQ is full, what is queued goes to the kernel first. */
  private sqe(): number {
    let sqe = this.ring.getSqe();
    if (sqe < 0) {
      this.ring.submit();
      sqe = this.ring.getSqe();
    }
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

  linkLast(): void {
    if (this.lastSqe < 0) throw new Error('linkLast: no I/O queued to link from');
    this.ring.orSqeFlags(this.lastSqe, IOSQE.IO_LINK);
  }
}
