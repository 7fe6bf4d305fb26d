import { IORING_CQE_F, IOSQE } from '../../native-bindings/io_uring.js';
import { UBLK_BATCH_F, UBLK_U_IO, UblkElemHeader } from '../../native-bindings/ublk_cmd.js';
import { high32 } from '../../native-bindings/u64.js';
import { errnoName } from '../../native-bindings/errors.js';
import { HostMemory } from '../../native-bindings/host-memory.js';
import { ProvidedBufferRing } from '../uring/buffer-ring.js';
import type { Ring } from '../uring/ring.js';
import { type IoCommands, type RequestSink, TagState } from './io-commands.js';
import { UserDataKind, encodeUserData, userDataTag } from './user-data.js';

const ENODEV = 19;
const ENOBUFS = 105;
/**
 * Multishot fetches per queue, each with its own buffer: while one is re-armed (its buffer used
 * up), the other takes the new requests (as the C server does).
 */
const FETCHES = 2;
/** Each fetch's buffer of u16 tags: 8192 requests before it is handed back and re-armed. */
const FETCH_BUFFER_BYTES = 16 * 1024;
/** A tag the kernel could not hand over after all (its slot in the fetched list is void). */
const UNUSED_TAG = 0xffff;
/** The tag bits of a batch command's user_data: which command (high byte) and which buffer. */
const Op = { Prep: 0, Commit: 1, Fetch: 2 } as const;

function userData(op: number, index: number): number {
  return encodeUserData((op << 8) | index, UserDataKind.BatchCommand);
}

/**
 * UBLK_F_BATCH_IO (Linux 7.0): tags move in batches. PREP_IO_CMDS arms every tag at start; two
 * multishot FETCH_IO_CMDS write the tags of new requests into provided buffers, many per
 * completion; COMMIT_IO_CMDS returns every result gathered in a round at once and arms those
 * tags again. An element is a struct ublk_elem_header (tag, fixed buffer index, result), then the
 * tag's buffer address (copy data path) and the zone append LBA (zoned devices).
 */
export class BatchCommands implements IoCommands {
  readonly states: Uint8Array;
  readonly batchedByKernel = true; // one FETCH_IO_CMDS completion carries many tags
  private readonly batchFlags: number;
  private readonly elementBytes: number;
  /** Two element buffers of `depth` elements, written by turns (see flush()). */
  private readonly elements: HostMemory;
  /** SAFETY: a view of `elements`, valid until release(). */
  private elementWords: Uint32Array;
  private current = 0;
  private gathered = 0;
  /** Per element buffer: the bytes its COMMIT_IO_CMDS carries until its completion, else 0. */
  private readonly committing = new Uint32Array(2);
  /** The fetches' buffers of tags (FETCH_BUFFER_BYTES each) and what each has consumed. */
  private readonly fetchMemory: HostMemory;
  /** SAFETY: a view of `fetchMemory`, valid until release(). */
  private tags: Uint16Array;
  private readonly fetchOffsets = new Uint32Array(FETCHES);
  private readonly fetchRings: ProvidedBufferRing[] = [];
  private fetchesEnded = 0;

  /**
   * `addresses`: per tag, its buffer with the copy data path, else 0. `zeroCopy`: the kernel
   * registers each request's pages at fixed buffer `tag`. `zoned`: commits carry zone append LBAs.
   */
  constructor(
    private readonly ring: Ring,
    private readonly queueId: number,
    private readonly depth: number,
    private readonly addresses: Float64Array,
    private readonly zeroCopy: boolean,
    zoned: boolean,
    private readonly sink: RequestSink,
  ) {
    this.states = new Uint8Array(depth);
    const withAddress = addresses.some((address) => address !== 0);
    this.batchFlags = (withAddress ? UBLK_BATCH_F.HAS_BUF_ADDR : 0) | (zoned ? UBLK_BATCH_F.HAS_ZONE_LBA : 0);
    this.elementBytes = UblkElemHeader.size + (withAddress ? 8 : 0) + (zoned ? 8 : 0);
    this.elements = new HostMemory(2 * depth * this.elementBytes, `queue ${queueId} batch elements`);
    this.elementWords = this.elements.u32();
    this.fetchMemory = new HostMemory(FETCHES * FETCH_BUFFER_BYTES, `queue ${queueId} fetched tags`);
    this.tags = new Uint16Array(this.fetchMemory.bytes.buffer, 0, this.fetchMemory.length / 2);
    try {
      for (let fetch = 0; fetch < FETCHES; fetch++) this.fetchRings.push(new ProvidedBufferRing(ring, fetch, 1, true));
    } catch (error) {
      this.release();
      throw error;
    }
  }

  start(): void {
    // PREP_IO_CMDS first and alone: the kernel takes fetches only once the queue is ready.
    for (let tag = 0; tag < this.depth; tag++) this.gather(tag, 0, -1);
    this.send(UBLK_U_IO.PREP_IO_CMDS, Op.Prep);
    this.ring.submit();
    this.expectAnswer('PREP_IO_CMDS', 0);
    this.committing.fill(0); // PREP's elements were read before its completion
    for (let fetch = 0; fetch < FETCHES; fetch++) this.arm(fetch);
    this.ring.submit();
    // An accepted fetch completes only with requests, and none come before the device starts.
    this.expectAnswer('FETCH_IO_CMDS', null);
  }

  /** Checks the completions the kernel posted at once: `result` expected from one, or none at all (null). */
  private expectAnswer(command: string, result: number | null): void {
    const end = this.ring.completionEnd();
    const at = this.ring.completionStart();
    const answered = at !== end ? this.ring.cqeResult(at) : null;
    if (answered !== result)
      throw new Error(
        answered === null
          ? `queue ${this.queueId}: the kernel did not answer ${command}`
          : `the kernel refused ${command} for queue ${this.queueId} (${errnoName(-answered)})`,
      );
    this.ring.completionsConsumed(end);
  }

  commit(tag: number, result: number, zoneAppendSector: number): void {
    this.gather(tag, result, zoneAppendSector);
  }

  /** Adds tag's element to the current buffer. */
  private gather(tag: number, result: number, zoneAppendSector: number): void {
    if (this.gathered >= this.depth)
      throw new Error(`queue ${this.queueId}: more than ${this.depth} results in one round (tag ${tag})`);
    // SAFETY: gathered < depth, so the element lies inside the current half of `elements`.
    let w = ((this.current * this.depth + this.gathered) * this.elementBytes) >>> 2;
    const words = this.elementWords;
    words[w] = tag | ((this.zeroCopy ? tag : 0) << 16); // tag, buf_index
    words[w + 1] = result;
    w += 2;
    if ((this.batchFlags & UBLK_BATCH_F.HAS_BUF_ADDR) !== 0) {
      const address = this.addresses[tag] ?? 0;
      words[w] = address >>> 0;
      words[w + 1] = high32(address);
      w += 2;
    }
    if ((this.batchFlags & UBLK_BATCH_F.HAS_ZONE_LBA) !== 0) {
      const lba = zoneAppendSector < 0 ? 0 : zoneAppendSector;
      words[w] = lba >>> 0;
      words[w + 1] = high32(lba);
    }
    this.gathered++;
    this.states[tag] = TagState.Fetching;
  }

  /**
   * One COMMIT_IO_CMDS for the round's results. The kernel copies the elements while it takes
   * the command (io_uring_enter, before the next round), and the buffer is written again only two
   * flushes later, after that command's completion (checked).
   */
  flush(): void {
    if (this.gathered === 0) return;
    this.send(UBLK_U_IO.COMMIT_IO_CMDS, Op.Commit);
  }

  /** Writes one PREP or COMMIT of the gathered elements, then turns to the other buffer. */
  private send(cmdOp: number, op: number): void {
    const index = this.current;
    if (this.committing[index] !== 0)
      throw new Error(`queue ${this.queueId}: element buffer ${index} is still being committed`);
    const bytes = this.gathered * this.elementBytes;
    const sqe = this.ring.getSqeSubmitting();
    const address = this.elements.address + index * this.depth * this.elementBytes;
    const cmd = this.ring.prepUringCmd(sqe, 0, cmdOp, userData(op, index), address, bytes);
    this.ring.setSqeFlags(sqe, IOSQE.FIXED_FILE);
    // SAFETY: cmd indexes the 16-byte command area (struct ublk_batch_io) of the SQE from getSqe().
    const w = this.ring.sqeWords;
    w[cmd] = this.queueId | (this.batchFlags << 16); // q_id, flags
    w[cmd + 1] = this.gathered | (this.elementBytes << 16); // nr_elem, elem_bytes, reserved 0
    this.committing[index] = bytes;
    this.current ^= 1;
    this.gathered = 0;
  }

  /** Hands fetch `fetch` its buffer again and sends it: the kernel writes tags from its start. */
  private arm(fetch: number): void {
    this.fetchOffsets[fetch] = 0;
    this.fetchRings[fetch]?.provide(this.fetchMemory.address + fetch * FETCH_BUFFER_BYTES, FETCH_BUFFER_BYTES, 0);
    const sqe = this.ring.getSqeSubmitting();
    const cmd = this.ring.prepUringCmd(sqe, 0, UBLK_U_IO.FETCH_IO_CMDS, userData(Op.Fetch, fetch));
    this.ring.setSqeFlags(sqe, IOSQE.FIXED_FILE);
    this.ring.setUringCmdMultishot(sqe, fetch); // buffer group `fetch`
    // SAFETY: as in send(). Fetches take no flags; elem_bytes is a tag's 2 bytes.
    const w = this.ring.sqeWords;
    w[cmd] = this.queueId;
    w[cmd + 1] = (FETCH_BUFFER_BYTES / 2) | (2 << 16);
  }

  completed(userDataLow: number, result: number, cqeFlags: number, lastCqe: boolean): void {
    const which = userDataTag(userDataLow);
    const op = which >>> 8;
    const index = which & 0xff;
    if (op === Op.Fetch) {
      this.fetched(index, result, cqeFlags, lastCqe);
      return;
    }
    const expected = this.committing[index & 1] ?? 0;
    this.committing[index & 1] = 0;
    // A commit racing the device's stop may find its tags taken back: that is the stop's to handle.
    if (result !== expected && !this.ending())
      throw new Error(
        `queue ${this.queueId}: COMMIT_IO_CMDS took ${result < 0 ? errnoName(-result) : `${result} of ${expected} bytes`}`,
      );
  }

  /** A fetch's completion: the tags of new requests, written after the last ones in its buffer. */
  private fetched(fetch: number, result: number, cqeFlags: number, lastCqe: boolean): void {
    if (result > 0) {
      // SAFETY: the kernel wrote `result` bytes at the fetch's offset, inside its buffer.
      const first = (fetch * FETCH_BUFFER_BYTES + (this.fetchOffsets[fetch] ?? 0)) >>> 1;
      const count = result >>> 1;
      this.fetchOffsets[fetch] = (this.fetchOffsets[fetch] ?? 0) + result;
      const tags = this.tags;
      for (let i = 0; i < count; i++) {
        const tag = tags[first + i] ?? UNUSED_TAG;
        if (tag === UNUSED_TAG) continue;
        if (tag >= this.depth) throw new Error(`queue ${this.queueId}: the kernel fetched tag ${tag} of ${this.depth}`);
        this.sink.serve(tag, lastCqe && i === count - 1);
      }
    }
    if ((cqeFlags & IORING_CQE_F.MORE) !== 0) return; // still fetching
    if (result >= 0 || result === -ENOBUFS)
      this.arm(fetch); // its buffer ran out: again from the start
    else if (result === -ENODEV)
      this.fetchesEnded++; // the device is going away (or quiesced)
    else throw new Error(`queue ${this.queueId}: FETCH_IO_CMDS failed (${errnoName(-result)})`);
  }

  ending(): boolean {
    return this.fetchesEnded > 0;
  }

  /**
   * Once both fetches are aborted, the loop goes on until every result is back with the kernel:
   * none with the target, none gathered, none in a commit not yet completed. (Found by a restart
   * under fio: a round's gathered results left behind failed their writes with EIO.)
   */
  ended(): boolean {
    return (
      this.fetchesEnded >= FETCHES &&
      this.gathered === 0 &&
      this.committing[0] === 0 &&
      this.committing[1] === 0 &&
      !this.states.includes(TagState.Serving)
    );
  }

  release(): void {
    for (const fetchRing of this.fetchRings) fetchRing.free();
    this.elementWords = new Uint32Array(0);
    this.tags = new Uint16Array(0);
    this.elements.free();
    this.fetchMemory.free();
  }
}
