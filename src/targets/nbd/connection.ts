import { close, monotonicMicroseconds, shutdownSocket } from '../../../native-bindings/libc.js';
import { high32 } from '../../../native-bindings/u64.js';
import type { QueueIo } from '../../blk/queue-io.js';
import { ReqOp, type Request } from '../../blk/request.js';
import { NBD_REQUEST_MAGIC, REQUEST_BYTES } from './protocol.js';
import { ReceiveReads } from './receive-reads.js';
import { ReplyParser } from './reply-parser.js';
import { RequestData } from './request-data.js';
import { SendBatches, Sent } from './send-batches.js';

const EIO = 5;
/** Each tag's request header slot (28 bytes, padded). */
const HEADER_STRIDE = 32;
/** A connection's I/O, as QueueIo stream ids: its generation (one per socket) << 1 | which. */
const SEND_STREAM = 0;
const RECEIVE_STREAM = 1;
const GENERATIONS = 0x8000;
/** Reconnect attempts: the first at once, then waits doubling from 100 ms to 2 s; each attempt at most 2 s. */
const FIRST_BACKOFF_US = 100_000;
const MAX_BACKOFF_US = 2_000_000;
const ATTEMPT_SECONDS = 2;

/** Where a connection is. */
export const Link = {
  Connected: 0,
  /** Lost: its requests are held (not failed) while it reconnects, up to the reconnect timeout. */
  Reconnecting: 1,
  /** Given up: every request fails with EIO until the device is deleted. */
  Failed: 2,
} as const;

/** A socket with the handshake done, and whether the server agreed to structured replies. */
export interface NbdSocket {
  readonly fd: number;
  readonly structuredReplies: boolean;
}

/** How a connection comes back: a new socket to the same export, or a throw. */
export type Reconnect = (timeoutSeconds: number) => NbdSocket;

/**
 * One queue's NBD connection, driven from the queue's ring: requests are pipelined (many in
 * flight, each named by its tag as the cookie) and replies may come in any order.
 *
 * Sending: each request's header (and a write's data, straight from the request's buffer, or its
 * pages in the ring with zero copy) joins the batch being gathered (send-batches.ts); one batch at
 * a time is in flight, as one chain of linked writes. When it is done (or cut short by a short
 * write), what is left goes next, then the batch gathered meanwhile.
 *
 * Receiving: one read at a time (receive-reads.ts), into a receive buffer where replies are
 * parsed (simple or structured: reply-parser.ts), or straight into a request's buffer for the
 * rest of a large read's data. With zero copy (QueueIo.zeroCopy) a reply's data that rides in the
 * receive buffer goes on to its request by user copy. Nothing on this path allocates.
 */
export class NbdConnection {
  /** SAFETY (all views below): views of memory from io.allocate, which outlives every I/O naming it. */
  private readonly headers: { readonly address: number; readonly bytes: Uint8Array };
  private readonly headerView: DataView;
  private readonly batches: SendBatches;
  /** Where the requests' data is: their buffers, or their pages (zero copy). */
  private readonly data: RequestData;

  private readonly replies: ReplyParser;
  private readonly reads: ReceiveReads;

  /** The request each tag's cookie names, while the server has it (or will get it again). */
  private readonly inFlight: Array<Request<unknown> | null>;
  private inFlightCount = 0;
  /** Link.*: connected, reconnecting, failed. */
  link: number = Link.Connected;
  /** Connections lost, and made again. */
  losses = 0;
  reconnects = 0;

  /** The socket now: the daemon's at first (it closes that one), later one this connection made (and closes). */
  private fd: number;
  private ownsFd = false;
  private generation = 0;
  private receiving = false;
  /** I/O of lost sockets still in the kernel: no reconnect (no reuse of the buffers) until it is back. */
  private staleIo = 0;
  private lostAtUs = 0;
  private nextAttemptUs = 0;
  private backoffUs = FIRST_BACKOFF_US;
  private lastError = '';

  constructor(
    private readonly io: QueueIo,
    socket: NbdSocket,
    depth: number,
    /** The server, as the log names it. */
    private readonly where: string,
    /** Lines for the device's log: a lost connection, a reconnect, giving up. */
    private readonly log: (message: string) => void,
    /** A new connection to the same export, or null: a lost connection fails its requests at once. */
    private readonly reconnect: Reconnect | null,
    /** How long a lost connection's requests are held while it reconnects (µs). */
    private readonly reconnectTimeoutUs: number,
  ) {
    this.fd = socket.fd;
    this.headers = io.allocate(depth * HEADER_STRIDE, 'nbd request headers');
    this.headerView = new DataView(this.headers.bytes.buffer, this.headers.bytes.byteOffset, this.headers.bytes.length);
    this.batches = new SendBatches(io, depth);
    const data = new RequestData(io, depth);
    this.data = data;
    this.inFlight = new Array<Request<unknown> | null>(depth).fill(null);
    // Made once: the parser's way back to the requests by tag.
    this.replies = new ReplyParser(
      {
        requestAt: (tag) => this.inFlight[tag] ?? null,
        offsetOf: (tag) =>
          this.headerView.getUint32(tag * HEADER_STRIDE + 16) * 2 ** 32 +
          this.headerView.getUint32(tag * HEADER_STRIDE + 20),
        finish: (tag, errno) => this.finish(tag, errno),
        copyIn: (rq, offset, source, bytes) => data.copyIn(rq, offset, source, bytes),
        zero: (rq, offset, bytes) => data.zero(rq, offset, bytes),
      },
      depth,
    );
    this.replies.reset(socket.structuredReplies);
    this.reads = new ReceiveReads(io, this.replies);
    this.startReceive();
  }

  /** Whether the connection is given up (its requests ended with EIO; new ones should too). */
  get failed(): boolean {
    return this.link === Link.Failed;
  }

  /** OFFSET_HOLE chunks of structured replies (sparse reads) written as zeros. */
  get holes(): number {
    return this.replies.holes;
  }

  /** Whether the server sends structured replies (NBD_OPT_STRUCTURED_REPLY was agreed). */
  get structuredReplies(): boolean {
    return this.replies.structured;
  }

  /** Writevs the socket took only in part (continued from where they stopped). */
  get shortSends(): number {
    return this.batches.shortSends;
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
    const staged = rq.op === ReqOp.Write ? this.data.stage(rq) : rq.bytes;
    if (staged !== rq.bytes) {
      this.log(`nbd: a write's data could not be copied out of its request (${staged}): it fails with EIO`);
      rq.end(-EIO);
      return;
    }
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
    this.replies.sent(tag);
    if (this.link === Link.Connected) this.appendRequest(rq); // reconnecting: sent once connected
  }

  /** A request's header (and a write's data: its buffer, its staged copy or its pages) into the batch being gathered. */
  private appendRequest(rq: Request<unknown>): void {
    this.batches.append(this.headers.address + rq.tag * HEADER_STRIDE, REQUEST_BYTES);
    if (rq.op === ReqOp.Write) this.data.appendWrite(this.batches, rq);
  }

  /** Starts a writev of what was gathered, unless one is in flight (its completion sends the rest). */
  flush(): void {
    if (this.link === Link.Connected && this.batches.startBatch()) this.writeNext();
  }

  /** A completion of this connection's stream I/O. */
  streamDone(stream: number, result: number): void {
    if (stream >>> 1 !== this.generation) {
      this.staleDone();
      return;
    }
    if ((stream & 1) === SEND_STREAM) this.sent(result);
    else this.received(result);
  }

  /**
   * The queue's poll: while reconnecting, tries again when it is time (a blocking handshake of
   * at most ATTEMPT_SECONDS); returns ns until it wants to run again, or -1 (only on events).
   */
  poll(): number {
    if (this.link !== Link.Reconnecting) return -1;
    if (this.staleIo > 0) return 1e6; // the lost socket's I/O comes back at once (it was shut down)
    const now = monotonicMicroseconds();
    if (now < this.nextAttemptUs) return (this.nextAttemptUs - now) * 1000;
    const deadline = this.lostAtUs + this.reconnectTimeoutUs;
    let socket: NbdSocket | null = null;
    try {
      socket = (this.reconnect as Reconnect)(Math.max(1, Math.min(ATTEMPT_SECONDS, Math.ceil((deadline - now) / 1e6))));
    } catch (error) {
      this.lastError = (error as Error).message;
    }
    const after = monotonicMicroseconds();
    if (socket === null) {
      if (after >= deadline) {
        this.giveUp(`no connection in ${Math.round(this.reconnectTimeoutUs / 1e6)} s (last: ${this.lastError})`);
        return -1;
      }
      this.nextAttemptUs = after + this.backoffUs;
      this.backoffUs = Math.min(2 * this.backoffUs, MAX_BACKOFF_US);
      return this.backoffUs * 1000;
    }
    this.connected(socket, after);
    return -1;
  }

  /** A new socket: every request held goes to it, in tag order, and replies are read from it. */
  private connected(socket: NbdSocket, nowUs: number): void {
    this.fd = socket.fd;
    this.ownsFd = true;
    this.link = Link.Connected;
    this.reconnects++;
    this.reads.reset();
    this.replies.reset(socket.structuredReplies);
    this.batches.reset();
    let resent = 0;
    for (const rq of this.inFlight)
      if (rq !== null) {
        this.appendRequest(rq);
        resent++;
      }
    this.log(
      `nbd: reconnected to ${this.where} after ${((nowUs - this.lostAtUs) / 1e6).toFixed(1)} s; ${resent} request(s) sent again`,
    );
    this.flush();
    this.startReceive();
  }

  private writeNext(): void {
    this.batches.write(this.io, (this.generation << 1) | SEND_STREAM, this.fd);
  }

  private sent(result: number): void {
    const next = this.batches.written(result);
    if (next === Sent.Failed)
      this.lost(result === 0 ? 'the server stopped reading' : `sending failed (errno ${-result})`);
    else if (next === Sent.Batch)
      this.flush(); // the batch gathered meanwhile
    else if (next === Sent.More) this.writeNext(); // after a short write, or a chain's worth: the rest
  }

  private startReceive(): void {
    this.receiving = true;
    this.reads.read(this.io, (this.generation << 1) | RECEIVE_STREAM, this.fd);
  }

  private received(result: number): void {
    this.receiving = false;
    if (result <= 0) {
      this.lost(result === 0 ? 'the server closed the connection' : `receiving failed (errno ${-result})`);
      return;
    }
    if (!this.reads.received(result)) {
      this.lost(this.replies.broken);
      return;
    }
    this.startReceive();
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

  /**
   * The socket failed. Its I/O still in the kernel is waited for (shutdown hurries it) before the
   * buffers serve another socket. With a reconnect timeout the requests are held and poll()
   * reconnects; without, they fail now.
   */
  private lost(reason: string): void {
    if (this.link !== Link.Connected) return;
    this.losses++;
    this.staleIo = this.batches.inFlight + (this.receiving ? 1 : 0);
    shutdownSocket(this.fd);
    // The ring holds the socket's file while its I/O is in flight: the number can go now.
    if (this.ownsFd) close(this.fd);
    this.ownsFd = false;
    this.generation = (this.generation + 1) % GENERATIONS; // completions of the lost socket are told apart
    this.replies.reset(this.replies.structured);
    this.reads.reset();
    this.batches.reset();
    if (this.reconnect === null || this.reconnectTimeoutUs <= 0) {
      this.giveUp(reason);
      return;
    }
    this.link = Link.Reconnecting;
    this.lostAtUs = this.nextAttemptUs = monotonicMicroseconds();
    this.backoffUs = FIRST_BACKOFF_US;
    this.log(
      `nbd: the connection to ${this.where} failed: ${reason}; holding its ${this.inFlightCount} request(s) while reconnecting, for up to ${Math.round(this.reconnectTimeoutUs / 1e6)} s`,
    );
  }

  /** One I/O of a lost socket came back (its buffers are free again once all have). */
  private staleDone(): void {
    if (this.staleIo > 0) this.staleIo--;
  }

  /** No connection: every request held fails with EIO, and every later one. */
  private giveUp(reason: string): void {
    this.link = Link.Failed;
    const failed = this.inFlightCount;
    for (let tag = 0; tag < this.inFlight.length; tag++) if (this.inFlight[tag] !== null) this.finish(tag, EIO);
    this.log(
      `nbd: the connection to ${this.where} failed: ${reason}; ${failed} request(s) failed with EIO, and new ones do until del`,
    );
  }

  /** The queue goes away: the socket this connection made is closed (the daemon closes the first). */
  close(): void {
    if (this.ownsFd) close(this.fd);
    this.ownsFd = false;
  }
}
