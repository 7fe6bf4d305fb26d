import { IOSQE } from '../../native-bindings/io_uring.js';
import { UBLK_IO_RES, UBLK_U_IO } from '../../native-bindings/ublk_cmd.js';
import { high32 } from '../../native-bindings/u64.js';
import { errnoName } from '../../native-bindings/errors.js';
import type { Ring } from '../uring/ring.js';
import { type IoCommands, type RequestSink, TagState } from './io-commands.js';
import { UserDataKind, encodeUserData, userDataTag } from './user-data.js';

const ENODEV = 19;

/**
 * One ublk command per tag: FETCH_REQ arms a tag, its completion hands over a request, and
 * COMMIT_AND_FETCH_REQ returns the result and arms the tag again (NEED_GET_DATA in between with
 * UBLK_F_NEED_GET_DATA). Each command goes to the ring as soon as it is written.
 */
export class TagCommands implements IoCommands {
  readonly states: Uint8Array;
  readonly batchedByKernel = false; // one completion per request
  private abortedTags = 0;

  /** How many tags this thread fetches: its share of the queue's. */
  private readonly ownTags: number;

  /**
   * `addresses`: per tag, what its commands carry in `addr` (the tag's buffer with the copy data
   * path, else 0). `zeroCopy`: UBLK_F_AUTO_BUF_REG, the kernel registers the request's pages at
   * fixed buffer `tag`. `share` of `shares`: this thread fetches the tags with tag % shares ===
   * share (UBLK_F_PER_IO_DAEMON: each tag is served by the thread that fetched it); 0 of 1: all.
   */
  constructor(
    private readonly ring: Ring,
    private readonly queueId: number,
    private readonly depth: number,
    private readonly addresses: Float64Array,
    private readonly zeroCopy: boolean,
    private readonly sink: RequestSink,
    private readonly share = 0,
    private readonly shares = 1,
  ) {
    this.states = new Uint8Array(depth);
    this.ownTags = Math.ceil((depth - share) / shares);
  }

  start(): void {
    for (let tag = this.share; tag < this.depth; tag += this.shares)
      this.issue(tag, UBLK_U_IO.FETCH_REQ, 0, this.addresses[tag] ?? 0);
    this.ring.submit();
    this.checkFetchesAccepted();
  }

  /**
   * A FETCH the kernel refuses completes at once; an accepted one completes only with a request,
   * and none comes before the device starts. So any completion now is a refusal: fail the queue
   * here, before the daemon sends START_DEV, which would wait for this queue forever.
   */
  private checkFetchesAccepted(): void {
    const at = this.ring.completionStart();
    if (at === this.ring.completionEnd()) return;
    const tag = userDataTag(this.ring.cqeUserDataLow(at));
    throw new Error(`the kernel refused FETCH_REQ for tag ${tag} (${errnoName(-this.ring.cqeResult(at))})`);
  }

  commit(tag: number, result: number, zoneAppendSector: number): void {
    // UBLK_F_ZONED: a zone append's addr is zone_append_lba, where the appended data went.
    const address = zoneAppendSector >= 0 ? zoneAppendSector : (this.addresses[tag] ?? 0);
    this.issue(tag, UBLK_U_IO.COMMIT_AND_FETCH_REQ, result, address);
  }

  flush(): void {
    // Every command was written when it was issued.
  }

  completed(userData: number, result: number, _cqeFlags: number, lastCqe: boolean): void {
    const tag = userDataTag(userData);
    if (result === UBLK_IO_RES.OK) {
      this.sink.serve(tag, lastCqe);
    } else if (result === UBLK_IO_RES.NEED_GET_DATA) {
      this.issue(tag, UBLK_U_IO.NEED_GET_DATA, 0, this.addresses[tag] ?? 0);
    } else if (result === -ENODEV) {
      this.states[tag] = TagState.Aborted; // the device is going away: never fetch again
      this.abortedTags++;
    } else {
      throw new Error(`queue ${this.queueId}: ublk command for tag ${tag} failed with ${result}`);
    }
  }

  ending(): boolean {
    return this.abortedTags > 0;
  }

  ended(): boolean {
    return this.abortedTags >= this.ownTags;
  }

  release(): void {
    // Nothing of its own: the tags' buffers are the queue's.
  }

  /** Writes one ublk I/O command for `tag`, `address` in its addr. */
  private issue(tag: number, cmdOp: number, result: number, address: number): void {
    const sqe = this.ring.getSqeSubmitting();
    // Zero copy: the SQE's own addr is a struct ublk_auto_buf_reg, index `tag` and no flags (no
    // fallback: a registration that fails fails its request), naming where the next request goes.
    const cmd = this.ring.prepUringCmd(
      sqe,
      0,
      cmdOp,
      encodeUserData(tag, UserDataKind.UblkCommand),
      this.zeroCopy ? tag : 0,
    );
    this.ring.setSqeFlags(sqe, IOSQE.FIXED_FILE);
    // SAFETY: cmd indexes the 16-byte command area of the SQE getSqe() handed out.
    const w = this.ring.sqeWords;
    w[cmd] = this.queueId | (tag << 16); // q_id, tag
    w[cmd + 1] = result; // result (COMMIT only)
    w[cmd + 2] = address >>> 0; // addr: again on every command (zone_append_lba for an append)
    w[cmd + 3] = high32(address);
    this.states[tag] = TagState.Fetching;
  }
}
