import { memcpy } from '../../../native-bindings/libc.js';
import { TWO_32, high32 } from '../../../native-bindings/u64.js';
import type { QueueIo } from '../../blk/queue-io.js';
import { ReqOp, type Request } from '../../blk/request.js';
import { NBD_REQUEST_MAGIC, NBD_SIMPLE_REPLY_MAGIC, NBD_CMD, REQUEST_BYTES, SIMPLE_REPLY_BYTES } from './protocol.js';

const EIO = 5;
/** Each tag's request header slot (28 bytes, padded). */
const HEADER_STRIDE = 32;
/** struct iovec: base, length (u64 each). */
const IOVEC_BYTES = 16;
/** The most iovecs one writev takes (IOV_MAX). */
const IOV_MAX = 1024;
/** Replies are read into this buffer, many at a time; a read's data is copied on to its request. */
const RECEIVE_BYTES = 256 * 1024;
/** The stream ids of a connection's I/O (QueueIo streams). */
const SEND_STREAM = 0;
const RECEIVE_STREAM = 1;

/**
 * One queue's NBD connection, driven from the queue's ring: requests are pipelined (many in
 * flight, each named by its tag as the cookie) and replies may come in any order.
 *
 * Sending: each request's header (and a write's data, straight from the request's buffer) is
 * appended as iovecs to the batch being gathered; one writev at a time is in flight, so bytes
 * never interleave on the stream. When it completes (short or whole), what is left goes next,
 * then the batch gathered meanwhile.
 *
 * Receiving: one read at a time into a receive buffer; replies are parsed from it, and a read's
 * data is copied to its request's buffer as it arrives. Nothing on this path allocates.
 */
export class NbdConnection {
  /** SAFETY (all views below): views of memory from io.allocate, which outlives every I/O naming it. */
  private readonly headers: { readonly address: number; readonly bytes: Uint8Array };
  private readonly headerView: DataView;
  /** Two halves of iovecs: one in flight, one gathering. */
  private readonly iovecs: { readonly address: number; readonly bytes: Uint8Array };
  private readonly iovecWords: Uint32Array;
  private readonly halfCapacity: number;
  private gathering = 0;
  private gathered = 0;
  private sendingHalf = -1;
  /** Index (in the sending half) of the first iovec not yet written, and the half's count. */
  private sendFirst = 0;
  private sendCount = 0;

  private readonly receive: { readonly address: number; readonly bytes: Uint8Array };
  private readonly receiveView: DataView;
  private receiveStart = 0;
  private receiveEnd = 0;
  /** A read reply whose data is still arriving: its tag, bytes left, where they go. */
  private readingTag = -1;
  private readingLeft = 0;
  private readingAddress = 0;

  /** The request each tag's cookie names, while the server has it. */
  private readonly inFlight: Array<Request<unknown> | null>;
  private inFlightCount = 0;
  private broken = false;
  /** Writevs the socket took only in part (continued from where they stopped). */
  shortSends = 0;

  constructor(
    private readonly io: QueueIo,
    readonly fd: number,
    depth: number,
    /** The connection failed: every request the server had ended with EIO (the target logs it). */
    private readonly onBroken: (reason: string) => void,
  ) {
    this.headers = io.allocate(depth * HEADER_STRIDE, 'nbd request headers');
    this.headerView = new DataView(this.headers.bytes.buffer, this.headers.bytes.byteOffset, this.headers.bytes.length);
    // A request takes at most two iovecs (header, data).
    this.halfCapacity = 2 * depth;
    this.iovecs = io.allocate(2 * this.halfCapacity * IOVEC_BYTES, 'nbd iovecs');
    this.iovecWords = new Uint32Array(
      this.iovecs.bytes.buffer,
      this.iovecs.bytes.byteOffset,
      this.iovecs.bytes.length / 4,
    );
    this.receive = io.allocate(RECEIVE_BYTES, 'nbd receive buffer');
    this.receiveView = new DataView(this.receive.bytes.buffer, this.receive.bytes.byteOffset, RECEIVE_BYTES);
    this.inFlight = new Array<Request<unknown> | null>(depth).fill(null);
    this.startReceive();
  }

  /** Whether the connection failed (its requests ended with EIO; new ones should too). */
  get failed(): boolean {
    return this.broken;
  }

  /** How many requests the server has now. */
  get pending(): number {
    return this.inFlightCount;
  }

  /**
   * Queues one NBD request for `rq` (`command`, `flags`, bytes `offset`/`length`); a write's data
   * goes from the request's buffer. It is sent with the next flush().
   */
  submit(rq: Request<unknown>, command: number, flags: number, offset: number, length: number): void {
    const tag = rq.tag;
    const view = this.headerView;
    const at = tag * HEADER_STRIDE;
    view.setUint32(at, NBD_REQUEST_MAGIC);
    view.setUint16(at + 4, flags);
    view.setUint16(at + 6, command);
    view.setUint32(at + 8, 0); // the cookie: the tag
    view.setUint32(at + 12, tag);
    view.setUint32(at + 16, high32(offset));
    view.setUint32(at + 20, offset >>> 0);
    view.setUint32(at + 24, length);
    this.inFlight[tag] = rq;
    this.inFlightCount++;
    this.append(this.headers.address + at, REQUEST_BYTES);
    if (command === NBD_CMD.WRITE) this.append(rq.bufferAddress, length);
  }

  /** Starts a writev of what was gathered, unless one is in flight (its completion sends the rest). */
  flush(): void {
    if (this.sendingHalf >= 0 || this.gathered === 0 || this.broken) return;
    this.sendingHalf = this.gathering;
    this.sendFirst = 0;
    this.sendCount = this.gathered;
    this.gathering ^= 1;
    this.gathered = 0;
    this.writeNext();
  }

  /** A completion of this connection's stream I/O. */
  streamDone(stream: number, result: number): void {
    if (stream === SEND_STREAM) this.sent(result);
    else if (stream === RECEIVE_STREAM) this.received(result);
  }

  private append(address: number, length: number): void {
    const index = (this.gathering * this.halfCapacity + this.gathered) * 4;
    const w = this.iovecWords;
    w[index] = address >>> 0;
    w[index + 1] = high32(address);
    w[index + 2] = length;
    w[index + 3] = 0;
    this.gathered++;
  }

  private writeNext(): void {
    const count = Math.min(IOV_MAX, this.sendCount - this.sendFirst);
    const first = this.sendingHalf * this.halfCapacity + this.sendFirst;
    this.io.writeStream(SEND_STREAM, this.fd, this.iovecs.address + first * IOVEC_BYTES, count);
  }

  private sent(result: number): void {
    if (this.broken) return;
    if (result <= 0) {
      this.fail(result === 0 ? 'the server stopped reading' : `sending failed (errno ${-result})`);
      return;
    }
    // Skip what was written; a partly written iovec starts further on.
    const w = this.iovecWords;
    let left = result;
    let i = this.sendingHalf * this.halfCapacity + this.sendFirst;
    const end = this.sendingHalf * this.halfCapacity + this.sendCount;
    while (i < end && left >= (w[i * 4 + 2] ?? 0)) {
      left -= w[i * 4 + 2] ?? 0;
      i++;
    }
    if (i < end && left > 0) {
      const base = (w[i * 4] ?? 0) + (w[i * 4 + 1] ?? 0) * TWO_32 + left;
      w[i * 4] = base >>> 0;
      w[i * 4 + 1] = high32(base);
      w[i * 4 + 2] = (w[i * 4 + 2] ?? 0) - left;
    }
    this.sendFirst = i - this.sendingHalf * this.halfCapacity;
    if (this.sendFirst < this.sendCount) {
      this.shortSends++;
      this.writeNext();
      return;
    }
    this.sendingHalf = -1;
    this.flush(); // the batch gathered meanwhile
  }

  private startReceive(): void {
    this.io.readStream(
      RECEIVE_STREAM,
      this.fd,
      this.receive.address + this.receiveEnd,
      RECEIVE_BYTES - this.receiveEnd,
    );
  }

  private received(result: number): void {
    if (this.broken) return;
    if (result <= 0) {
      this.fail(result === 0 ? 'the server closed the connection' : `receiving failed (errno ${-result})`);
      return;
    }
    this.receiveEnd += result;
    if (!this.parseReplies()) return;
    // Keep what is left of a reply header at the start, for the next read to complete.
    if (this.receiveStart === this.receiveEnd) this.receiveStart = this.receiveEnd = 0;
    else if (this.receiveStart > 0) {
      this.receive.bytes.copyWithin(0, this.receiveStart, this.receiveEnd);
      this.receiveEnd -= this.receiveStart;
      this.receiveStart = 0;
    }
    this.startReceive();
  }

  /** Ends every request whose reply is complete in the buffer; false when the stream broke. */
  private parseReplies(): boolean {
    const view = this.receiveView;
    for (;;) {
      if (this.readingLeft > 0) {
        const available = this.receiveEnd - this.receiveStart;
        if (available === 0) return true;
        const n = Math.min(available, this.readingLeft);
        // SAFETY: both ranges lie inside memory this queue owns: the receive buffer, and the
        // request's buffer (n ≤ the bytes its read asked for).
        memcpy(this.readingAddress, this.receive.address + this.receiveStart, n);
        this.receiveStart += n;
        this.readingAddress += n;
        this.readingLeft -= n;
        if (this.readingLeft === 0) this.finish(this.readingTag, 0);
        continue;
      }
      if (this.receiveEnd - this.receiveStart < SIMPLE_REPLY_BYTES) return true;
      const at = this.receiveStart;
      const magic = view.getUint32(at);
      const error = view.getUint32(at + 4);
      const tag = view.getUint32(at + 12);
      const rq = view.getUint32(at + 8) === 0 && tag < this.inFlight.length ? this.inFlight[tag] : null;
      if (magic !== NBD_SIMPLE_REPLY_MAGIC || rq === null || rq === undefined) {
        this.fail(
          magic !== NBD_SIMPLE_REPLY_MAGIC
            ? `the server sent a reply with a bad magic (0x${magic.toString(16)})`
            : `the server replied to cookie ${tag}, which it was not sent`,
        );
        return false;
      }
      this.receiveStart += SIMPLE_REPLY_BYTES;
      if (error === 0 && rq.op === ReqOp.Read && rq.bytes > 0) {
        this.readingTag = tag;
        this.readingLeft = rq.bytes;
        this.readingAddress = rq.bufferAddress;
      } else this.finish(tag, error);
    }
  }

  /**
   * Ends `tag`'s request: `errno` 0 is success (a read or write's bytes, 0 for others); NBD's
   * error values are Linux errno numbers (EPERM, EIO, ENOMEM, EINVAL, ENOSPC, EOVERFLOW,
   * EOPNOTSUPP, ESHUTDOWN).
   */
  private finish(tag: number, errno: number): void {
    const rq = this.inFlight[tag];
    if (rq === null || rq === undefined) return;
    this.inFlight[tag] = null;
    this.inFlightCount--;
    rq.end(errno !== 0 ? -errno : rq.op === ReqOp.Read || rq.op === ReqOp.Write ? rq.bytes : 0);
  }

  private fail(reason: string): void {
    this.broken = true;
    for (let tag = 0; tag < this.inFlight.length; tag++) if (this.inFlight[tag] !== null) this.finish(tag, EIO);
    this.readingLeft = 0;
    this.gathered = 0;
    this.onBroken(reason);
  }
}
