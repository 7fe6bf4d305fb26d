import { ReqOp, type Request } from '../../blk/request.js';
import {
  NBD_REPLY_FLAG_DONE,
  NBD_REPLY_TYPE,
  NBD_REPLY_TYPE_ERROR_BIT,
  NBD_SIMPLE_REPLY_MAGIC,
  NBD_STRUCTURED_REPLY_MAGIC,
  SIMPLE_REPLY_BYTES,
  STRUCTURED_REPLY_BYTES,
} from './protocol.js';

const EIO = 5;
/** An offset chunk's fixed payload: offset u64 (data follows); a hole adds its size u32. */
const OFFSET_BYTES = 8;
const HOLE_PAYLOAD_BYTES = 12;
/** An error chunk's fixed payload: error u32, message length u16 (the message, maybe an offset, follow). */
const ERROR_PAYLOAD_BYTES = 6;

/** What the parser asks of its connection, by cookie (the tag). */
export interface ReplyRequests {
  /** The request `tag` names while the server has it; null otherwise. */
  requestAt(tag: number): Request<unknown> | null;
  /** The export offset `tag`'s request was sent for. */
  offsetOf(tag: number): number;
  /** Ends `tag`'s request: `errno` 0 is success. */
  finish(tag: number, errno: number): void;
  /** `bytes` at native `source` into `rq`'s data at byte `offset` (inside the range its read asked for); false if that failed. */
  copyIn(rq: Request<unknown>, offset: number, source: number, bytes: number): boolean;
  /** Zeros into `rq`'s data at byte `offset` (a hole); false if that failed. */
  zero(rq: Request<unknown>, offset: number, bytes: number): boolean;
}

/**
 * The receive side of an NBD connection: replies parsed from the bytes read so far, a read's data
 * copied straight on to its request's buffer as it arrives, or read straight there by the
 * connection (directTarget, arrivedDirect): a reply may span many reads.
 *
 * Simple replies (a header, then a read's data) and, where the handshake agreed to them,
 * structured replies: a request's reply is one or more chunks in any order, the last marked DONE.
 * OFFSET_DATA chunks carry part of a read at an offset, OFFSET_HOLE chunks a range of zeros (a
 * sparse read, written here as zeros), error chunks the request's error (the first one counts; the
 * request ends when its DONE chunk comes). Nothing on this path allocates.
 */
export class ReplyParser {
  /** Whether this stream may carry structured replies (NBD_OPT_STRUCTURED_REPLY was agreed). */
  structured = false;
  /** Why the stream broke, once parse() returned -1 (the connection is lost: the replies cannot be trusted). */
  broken = '';
  /** OFFSET_HOLE chunks turned into zeros. */
  holes = 0;

  /** A run of payload still arriving: whose, how many bytes, into which request at what offset (null: skipped), and whether it ends its reply. */
  private readingTag = -1;
  private readingLeft = 0;
  private readingRq: Request<unknown> | null = null;
  private readingOffset = 0;
  private readingDone = false;
  /** Each tag's first error chunk (0: none), reported when its DONE chunk comes. */
  private readonly errors: Int32Array;

  constructor(
    private readonly requests: ReplyRequests,
    depth: number,
  ) {
    this.errors = new Int32Array(depth);
  }

  /** A new stream (a new socket): a reply half read is forgotten, the requests go again. */
  reset(structured: boolean): void {
    this.structured = structured;
    this.broken = '';
    this.readingLeft = 0;
    this.errors.fill(0);
  }

  /**
   * Whose data the stream's next bytes are when they are a read's, at least `minimum` of them
   * still to come: that request (the connection may read them straight into it at directOffset,
   * see arrivedDirect), else null.
   */
  directRequest(minimum: number): Request<unknown> | null {
    return this.readingLeft >= minimum ? this.readingRq : null;
  }

  /** Where in directRequest()'s data the next bytes go. */
  get directOffset(): number {
    return this.readingOffset;
  }

  /** How many bytes of the read's data directRequest() named are still to come. */
  get directBytes(): number {
    return this.readingLeft;
  }

  /** `bytes` (1 … directBytes) of the read's data arrived in directRequest(): its request ends once all have. */
  arrivedDirect(bytes: number): void {
    this.readingOffset += bytes;
    this.readingLeft -= bytes;
    if (this.readingLeft === 0 && this.readingDone) this.done(this.readingTag);
  }

  /** `tag`'s request is sent: nothing has come for it yet. */
  sent(tag: number): void {
    this.errors[tag] = 0;
  }

  /**
   * Parses the bytes at [`start`, `end`) of the receive buffer (`view`, at native `address`) and
   * ends each request whose reply is complete. Returns where the first incomplete reply header
   * starts (for the next read to complete), or -1 when the stream broke (`broken` says why).
   */
  parse(view: DataView, address: number, start: number, end: number): number {
    for (;;) {
      if (this.readingLeft > 0) {
        const n = Math.min(end - start, this.readingLeft);
        if (n === 0) return start;
        const rq = this.readingRq;
        if (rq !== null) {
          // The source lies in the receive buffer; the range in the request was checked when the reply or chunk came.
          if (!this.requests.copyIn(rq, this.readingOffset, address + start, n)) this.fail(this.readingTag);
          this.readingOffset += n;
        }
        start += n;
        this.readingLeft -= n;
        if (this.readingLeft === 0 && this.readingDone) this.done(this.readingTag);
        continue;
      }
      const available = end - start;
      if (available < 4) return start;
      const magic = view.getUint32(start);
      if (magic === NBD_SIMPLE_REPLY_MAGIC) {
        if (available < SIMPLE_REPLY_BYTES) return start;
        const tag = this.tagAt(view, start + 8);
        if (tag < 0) return -1;
        const error = view.getUint32(start + 4);
        const rq = this.requests.requestAt(tag) as Request<unknown>;
        start += SIMPLE_REPLY_BYTES;
        if (error === 0 && rq.op === ReqOp.Read && rq.bytes > 0) this.expect(tag, rq.bytes, rq, 0, true);
        else this.requests.finish(tag, error);
        continue;
      }
      if (magic !== NBD_STRUCTURED_REPLY_MAGIC || !this.structured)
        return this.break(`the server sent a reply with a bad magic (0x${magic.toString(16)})`);
      if (available < STRUCTURED_REPLY_BYTES) return start;
      const done = (view.getUint16(start + 4) & NBD_REPLY_FLAG_DONE) !== 0;
      const type = view.getUint16(start + 6);
      const tag = this.tagAt(view, start + 8);
      if (tag < 0) return -1;
      const length = view.getUint32(start + 16);
      const payload = start + STRUCTURED_REPLY_BYTES;
      const rq = this.requests.requestAt(tag) as Request<unknown>;
      if (type === NBD_REPLY_TYPE.NONE) {
        if (length !== 0) return this.break(`the server sent a NONE chunk with ${length} bytes`);
        start = payload;
        if (done) this.done(tag);
      } else if (type === NBD_REPLY_TYPE.OFFSET_DATA || type === NBD_REPLY_TYPE.OFFSET_HOLE) {
        const hole = type === NBD_REPLY_TYPE.OFFSET_HOLE;
        if (hole ? length !== HOLE_PAYLOAD_BYTES : length < OFFSET_BYTES)
          return this.break(`the server sent an offset chunk of ${length} bytes`);
        if (available < STRUCTURED_REPLY_BYTES + (hole ? HOLE_PAYLOAD_BYTES : OFFSET_BYTES)) return start;
        const at = view.getUint32(payload) * 2 ** 32 + view.getUint32(payload + 4) - this.requests.offsetOf(tag);
        const bytes = hole ? view.getUint32(payload + OFFSET_BYTES) : length - OFFSET_BYTES;
        if (rq.op !== ReqOp.Read || at < 0 || at + bytes > rq.bytes)
          return this.break(`the server sent data outside the request of cookie ${tag}`);
        if (hole) {
          // In the range the request's read asked for (checked above).
          if (!this.requests.zero(rq, at, bytes)) this.fail(tag);
          this.holes++;
          start = payload + HOLE_PAYLOAD_BYTES;
          if (done) this.done(tag);
        } else {
          start = payload + OFFSET_BYTES;
          this.expect(tag, bytes, rq, at, done);
        }
      } else if ((type & NBD_REPLY_TYPE_ERROR_BIT) !== 0) {
        if (length < ERROR_PAYLOAD_BYTES) return this.break(`the server sent an error chunk of ${length} bytes`);
        if (available < STRUCTURED_REPLY_BYTES + ERROR_PAYLOAD_BYTES) return start;
        // NBD errors are Linux errno values; a chunk saying 0 is still an error.
        if (this.errors[tag] === 0) this.errors[tag] = view.getUint32(payload) || EIO;
        start = payload;
        this.expect(tag, length, null, 0, done); // its message (and offset) is skipped
      } else return this.break(`the server sent a chunk of a type tsublk does not know (${type})`);
    }
  }

  /** The next `bytes` of the stream belong to `tag` (into `rq` at `offset`, or skipped when null). */
  private expect(tag: number, bytes: number, rq: Request<unknown> | null, offset: number, done: boolean): void {
    this.readingTag = tag;
    this.readingLeft = bytes;
    this.readingRq = rq;
    this.readingOffset = offset;
    this.readingDone = done;
    if (bytes === 0 && done) this.done(tag);
  }

  /** Data could not be put in `tag`'s request: it ends with EIO (the stream goes on). */
  private fail(tag: number): void {
    if (this.errors[tag] === 0) this.errors[tag] = EIO;
  }

  private done(tag: number): void {
    const errno = this.errors[tag] ?? 0;
    this.errors[tag] = 0;
    this.requests.finish(tag, errno);
  }

  /** The tag a reply's cookie names, or -1 (the stream broke) when it names no request the server has. */
  private tagAt(view: DataView, at: number): number {
    const tag = view.getUint32(at + 4);
    if (view.getUint32(at) === 0 && tag < this.errors.length && this.requests.requestAt(tag) !== null) return tag;
    return this.break(`the server replied to cookie ${tag}, which it was not sent`);
  }

  private break(reason: string): -1 {
    this.broken = reason;
    this.readingLeft = 0;
    return -1;
  }
}
