// What one NBD connection reads: one read at a time, either into a receive buffer where replies
// are parsed (reply-parser.ts), many at a time, or, for a large read's data, straight into its
// request's buffer. Nothing here allocates after construction.
import type { QueueIo } from '../../blk/queue-io.js';
import { SIMPLE_REPLY_BYTES, STRUCTURED_REPLY_BYTES } from './protocol.js';
import type { ReplyParser } from './reply-parser.js';

/** Replies are read into this buffer, many at a time; small reads' data is copied on to their requests. */
const RECEIVE_BYTES = 256 * 1024;
/**
 * A read's data this large or larger is read straight into its request's buffer, not copied there
 * from the receive buffer: one read more, one copy fewer (TCG 6.12, 128 KiB reads at QD16: the
 * copy cost 310 µs of user CPU per read, and the rows went from 0.78x to 0.89x the kernel's nbd
 * client). Smaller data rides along with the replies around it.
 */
const DIRECT_READ_BYTES = 32 * 1024;
/** A structured reply's header and an OFFSET_DATA chunk's offset: what comes before its data. */
const STRUCTURED_DATA_HEADER_BYTES = STRUCTURED_REPLY_BYTES + 8;

export class ReceiveReads {
  /** SAFETY: a view of memory from io.allocate, which outlives every read naming it. */
  private readonly buffer: { readonly address: number; readonly bytes: Uint8Array };
  private readonly view: DataView;
  /** The bytes read and not yet parsed: [start, end) of the buffer. */
  private start = 0;
  private end = 0;
  /** The read in flight goes straight into a request's data (ReplyParser.directRequest). */
  private direct = false;
  /** After data read straight to a request: read only the next reply's header (its data may go straight too). */
  private headerOnlyNext = false;

  constructor(
    io: QueueIo,
    private readonly replies: ReplyParser,
  ) {
    this.buffer = io.allocate(RECEIVE_BYTES, 'nbd receive buffer');
    this.view = new DataView(this.buffer.bytes.buffer, this.buffer.bytes.byteOffset, RECEIVE_BYTES);
  }

  /**
   * Starts the next read of socket `fd`, as stream `stream`: straight into a request's buffer
   * while a large read's data is still to come; else into the receive buffer, only a reply's
   * header after such data (the next reply may be large too), as much as fits otherwise.
   */
  read(io: QueueIo, stream: number, fd: number): void {
    // Data begun straight in its request ends there, however little is left of it.
    const rq = this.replies.directRequest(this.direct ? 1 : DIRECT_READ_BYTES);
    this.direct = rq !== null;
    if (rq !== null) {
      // The rest of the read's data, inside the range its request asked for (the parser checked it).
      this.headerOnlyNext = true;
      io.readStreamIntoRequest(stream, fd, rq, this.replies.directBytes, this.replies.directOffset);
      return;
    }
    // Only a header when nothing is left over: a partial header reads as much as fits.
    const header = this.replies.structured ? STRUCTURED_DATA_HEADER_BYTES : SIMPLE_REPLY_BYTES;
    const length = this.headerOnlyNext && this.end === 0 ? header : RECEIVE_BYTES - this.end;
    this.headerOnlyNext = false;
    io.readStream(stream, fd, this.buffer.address + this.end, length);
  }

  /**
   * The read returned `bytes` (> 0): the replies complete in them end their requests. False when
   * the stream broke (ReplyParser.broken says why).
   */
  received(bytes: number): boolean {
    if (this.direct) {
      this.replies.arrivedDirect(bytes);
      return true;
    }
    this.end += bytes;
    const parsed = this.replies.parse(this.view, this.buffer.address, this.start, this.end);
    if (parsed < 0) return false;
    this.start = parsed;
    // Keep what is left of a reply header at the start, for the next read to complete.
    if (this.start === this.end) this.start = this.end = 0;
    else if (this.start > 0) {
      this.buffer.bytes.copyWithin(0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
    }
    return true;
  }

  /** A new stream (a new socket): nothing half read. The parser is reset by its owner. */
  reset(): void {
    this.start = this.end = 0;
    this.direct = this.headerOnlyNext = false;
  }
}
