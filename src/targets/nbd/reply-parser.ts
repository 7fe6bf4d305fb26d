import { memcpy, memset } from '../../../native-bindings/libc.js';
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

  /** A run of payload still arriving: whose, how many bytes, where they go (0: nowhere), and whether it ends its reply. */
  private readingTag = -1;
  private readingLeft = 0;
  private readingAddress = 0;
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
   * Where the stream's next bytes go when they are a read's data, at least `minimum` of them
   * still to come: that place in the request's buffer (the connection may read them straight
   * there, see arrivedDirect), else 0.
   */
  directTarget(minimum: number): number {
    return this.readingLeft >= minimum && this.readingAddress !== 0 ? this.readingAddress : 0;
  }

  /** How many bytes of the read's data directTarget() named are still to come. */
  get directBytes(): number {
    return this.readingLeft;
  }

  /** `bytes` (1 … directBytes) of the read's data arrived at directTarget(): its request ends once all have. */
  arrivedDirect(bytes: number): void {
    this.readingAddress += bytes;
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
        if (this.readingAddress !== 0) {
          // SAFETY: the source lies in the receive buffer; the destination in the request's
          // buffer, inside the range its read asked for (checked when the reply or chunk came).
          memcpy(this.readingAddress, address + start, n);
          this.readingAddress += n;
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
        if (error === 0 && rq.op === ReqOp.Read && rq.bytes > 0) this.expect(tag, rq.bytes, rq.bufferAddress, true);
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
          // SAFETY: inside the request's buffer, in the range its read asked for (checked above).
          memset(rq.bufferAddress + at, 0, bytes);
          this.holes++;
          start = payload + HOLE_PAYLOAD_BYTES;
          if (done) this.done(tag);
        } else {
          start = payload + OFFSET_BYTES;
          this.expect(tag, bytes, rq.bufferAddress + at, done);
        }
      } else if ((type & NBD_REPLY_TYPE_ERROR_BIT) !== 0) {
        if (length < ERROR_PAYLOAD_BYTES) return this.break(`the server sent an error chunk of ${length} bytes`);
        if (available < STRUCTURED_REPLY_BYTES + ERROR_PAYLOAD_BYTES) return start;
        // NBD errors are Linux errno values; a chunk saying 0 is still an error.
        if (this.errors[tag] === 0) this.errors[tag] = view.getUint32(payload) || EIO;
        start = payload;
        this.expect(tag, length, 0, done); // its message (and offset) is skipped
      } else return this.break(`the server sent a chunk of a type tsublk does not know (${type})`);
    }
  }

  /** The next `bytes` of the stream belong to `tag` (to `address`, or skipped when 0). */
  private expect(tag: number, bytes: number, address: number, done: boolean): void {
    this.readingTag = tag;
    this.readingLeft = bytes;
    this.readingAddress = address;
    this.readingDone = done;
    if (bytes === 0 && done) this.done(tag);
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
