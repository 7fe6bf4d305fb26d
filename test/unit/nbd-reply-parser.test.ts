// The NBD reply parser on byte streams built here, in native memory as the connection's receive
// buffer is: simple and structured replies, chunks in any order, holes, errors, and every way a
// stream can be cut between two reads. Real servers' replies are in nbd-target.test.ts.
import { afterEach, describe, expect, it } from 'vitest';
import { HostMemory } from '../../native-bindings/host-memory.js';
import { ReqOp, Request, type RequestCompleter } from '../../src/blk/request.js';
import {
  NBD_REPLY_FLAG_DONE,
  NBD_REPLY_TYPE,
  NBD_SIMPLE_REPLY_MAGIC,
  NBD_STRUCTURED_REPLY_MAGIC,
} from '../../src/targets/nbd/protocol.js';
import { ReplyParser } from '../../src/targets/nbd/reply-parser.js';

const DEPTH = 4;
const TAG_BYTES = 16384;
const RECEIVE_BYTES = 4096;
const memory: HostMemory[] = [];
afterEach(() => memory.splice(0).forEach((block) => block.free()));

function u32(value: number): number[] {
  return [(value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff];
}
function u16(value: number): number[] {
  return [(value >>> 8) & 0xff, value & 0xff];
}
function u64(value: number): number[] {
  return [...u32(Math.floor(value / 2 ** 32)), ...u32(value >>> 0)];
}
function simple(tag: number, error: number, data: number[] = []): number[] {
  return [...u32(NBD_SIMPLE_REPLY_MAGIC), ...u32(error), ...u64(tag), ...data];
}
function chunk(tag: number, type: number, payload: number[], done = false): number[] {
  return [
    ...u32(NBD_STRUCTURED_REPLY_MAGIC),
    ...u16(done ? NBD_REPLY_FLAG_DONE : 0),
    ...u16(type),
    ...u64(tag),
    ...u32(payload.length),
    ...payload,
  ];
}
function pattern(length: number, seed: number): number[] {
  return Array.from({ length }, (_, i) => (seed * 37 + i * 7) & 0xff);
}

/**
 * A parser over `DEPTH` requests (tag t: a read of `TAG_BYTES` at export offset t MiB unless
 * `ops` says otherwise), fed `stream` in reads of `step` bytes as the connection feeds it
 * (what is left of a header moved to the front). With `directFrom`, a read's data with at least
 * that many bytes to come is read straight into its request's buffer, as the connection does.
 * Returns what ended and how.
 */
function feed(
  stream: number[],
  step: number,
  structured: boolean,
  directFrom: number | null = null,
  ops: number[] = [ReqOp.Read, ReqOp.Read, ReqOp.Read, ReqOp.Write],
  /** Tags whose data cannot be put in (a user copy that fails). */
  failing: readonly number[] = [],
): { results: Map<number, number>; buffers: Uint8Array[]; broken: string; holes: number } {
  const buffers = new HostMemory(DEPTH * TAG_BYTES);
  const receive = new HostMemory(RECEIVE_BYTES);
  memory.push(buffers, receive);
  buffers.bytes.fill(0xaa); // what a hole must overwrite
  const results = new Map<number, number>();
  const completer: RequestCompleter = { completeRequest: (tag, result) => void results.set(tag, result) };
  const rqs: Array<Request<undefined> | null> = ops.map((op, tag) => {
    const rq = new Request<undefined>(
      0,
      tag,
      buffers.bytes.subarray(tag * TAG_BYTES, (tag + 1) * TAG_BYTES),
      buffers.address + tag * TAG_BYTES,
      undefined,
      completer,
    );
    rq.op = op;
    rq.sectors = TAG_BYTES / 512;
    return rq;
  });
  const parser = new ReplyParser(
    {
      requestAt: (tag) => rqs[tag] ?? null,
      offsetOf: (tag) => tag * 2 ** 20,
      finish: (tag, errno) => {
        const rq = rqs[tag] as Request<undefined>;
        rqs[tag] = null;
        rq.end(errno !== 0 ? -errno : rq.op === ReqOp.Read || rq.op === ReqOp.Write ? rq.bytes : 0);
      },
      copyIn: (rq, offset, source, bytes) => {
        expect(offset + bytes).toBeLessThanOrEqual(TAG_BYTES);
        const from = source - receive.address;
        buffers.bytes.set(receive.bytes.subarray(from, from + bytes), rq.tag * TAG_BYTES + offset);
        return !failing.includes(rq.tag);
      },
      zero: (rq, offset, bytes) => {
        expect(offset + bytes).toBeLessThanOrEqual(TAG_BYTES);
        buffers.bytes.fill(0, rq.tag * TAG_BYTES + offset, rq.tag * TAG_BYTES + offset + bytes);
        return !failing.includes(rq.tag);
      },
    },
    DEPTH,
  );
  parser.reset(structured);
  const view = new DataView(receive.bytes.buffer, receive.bytes.byteOffset, RECEIVE_BYTES);
  let start = 0;
  let end = 0;
  let direct = 0;
  for (let at = 0; at < stream.length;) {
    // Data begun straight in its request's buffer ends there (connection.ts).
    const target = directFrom === null ? null : parser.directRequest(direct > 0 ? 1 : directFrom);
    direct = target !== null ? direct + 1 : 0;
    if (target !== null) {
      expect(end).toBe(0); // nothing waits in the receive buffer meanwhile
      const n = Math.min(step, stream.length - at, parser.directBytes);
      expect(parser.directOffset + n).toBeLessThanOrEqual(TAG_BYTES);
      const into = target.tag * TAG_BYTES + parser.directOffset;
      buffers.bytes.set(stream.slice(at, at + n), into);
      at += n;
      parser.arrivedDirect(n);
      continue;
    }
    const n = Math.min(step, stream.length - at, RECEIVE_BYTES - end);
    receive.bytes.set(stream.slice(at, at + n), end);
    at += n;
    end += n;
    const parsed = parser.parse(view, receive.address, start, end);
    if (parsed < 0) break;
    start = parsed;
    receive.bytes.copyWithin(0, start, end);
    end -= start;
    start = 0;
  }
  return {
    results,
    buffers: Array.from({ length: DEPTH }, (_, tag) => buffers.bytes.slice(tag * TAG_BYTES, (tag + 1) * TAG_BYTES)),
    broken: parser.broken,
    holes: parser.holes,
  };
}

/**
 * The same outcome whatever the reads' sizes (1 byte at a time, odd sizes, all at once), and
 * whether a read's data goes through the receive buffer or straight to its request (any data, or
 * 4 KiB and more).
 */
function everySplit(stream: number[], structured: boolean, check: (fed: ReturnType<typeof feed>) => void): void {
  for (const directFrom of [null, 1, 4096])
    for (const step of [1, 3, 7, 19, 20, 28, 513, RECEIVE_BYTES]) check(feed(stream, step, structured, directFrom));
}

describe('ReplyParser', () => {
  it('simple replies: a read with its data, a write, an error, in any order', () => {
    const data = pattern(TAG_BYTES, 1);
    const stream = [...simple(3, 0), ...simple(1, 0, data), ...simple(0, 5), ...simple(2, 0, pattern(TAG_BYTES, 2))];
    everySplit(stream, false, ({ results, buffers, broken }) => {
      expect(broken).toBe('');
      expect([...results.entries()].sort()).toEqual([
        [0, -5],
        [1, TAG_BYTES],
        [2, TAG_BYTES],
        [3, TAG_BYTES],
      ]);
      expect([...(buffers[1] as Uint8Array)]).toEqual(data);
    });
  });

  it('structured: a read in data and hole chunks out of order, interleaved with other replies, ends at DONE', () => {
    const first = pattern(4096, 3);
    const last = pattern(4096, 4);
    const stream = [
      ...chunk(1, NBD_REPLY_TYPE.OFFSET_DATA, [...u64(2 ** 20 + 12288), ...last]),
      ...chunk(3, NBD_REPLY_TYPE.NONE, [], true), // the write
      ...chunk(1, NBD_REPLY_TYPE.OFFSET_HOLE, [...u64(2 ** 20 + 4096), ...u32(8192)]),
      ...chunk(2, NBD_REPLY_TYPE.OFFSET_DATA, [...u64(2 * 2 ** 20), ...pattern(TAG_BYTES, 5)], true),
      ...chunk(1, NBD_REPLY_TYPE.OFFSET_DATA, [...u64(2 ** 20), ...first], true),
    ];
    everySplit(stream, true, ({ results, buffers, broken, holes }) => {
      expect(broken).toBe('');
      expect(results.get(1)).toBe(TAG_BYTES);
      expect(results.get(2)).toBe(TAG_BYTES);
      expect(results.get(3)).toBe(TAG_BYTES);
      expect(results.has(0)).toBe(false);
      expect(holes).toBe(1);
      expect([...(buffers[1] as Uint8Array)]).toEqual([...first, ...new Array<number>(8192).fill(0), ...last]);
      expect([...(buffers[2] as Uint8Array)]).toEqual(pattern(TAG_BYTES, 5));
    });
  });

  it('a read whose data cannot be put in its request (a failing user copy) ends with EIO; the stream goes on', () => {
    const stream = [
      ...chunk(1, NBD_REPLY_TYPE.OFFSET_HOLE, [...u64(2 ** 20), ...u32(4096)]),
      ...chunk(1, NBD_REPLY_TYPE.OFFSET_DATA, [...u64(2 ** 20 + 4096), ...pattern(TAG_BYTES - 4096, 7)], true),
      ...chunk(2, NBD_REPLY_TYPE.OFFSET_DATA, [...u64(2 * 2 ** 20), ...pattern(TAG_BYTES, 8)], true),
      ...chunk(0, NBD_REPLY_TYPE.OFFSET_DATA, [...u64(0), ...pattern(TAG_BYTES, 9)], true),
    ];
    for (const step of [1, 19, RECEIVE_BYTES]) {
      const { results, buffers, broken } = feed(stream, step, true, null, undefined, [1, 2]);
      expect(broken).toBe('');
      expect(results.get(1)).toBe(-5);
      expect(results.get(2)).toBe(-5);
      expect(results.get(0)).toBe(TAG_BYTES);
      expect([...(buffers[0] as Uint8Array)]).toEqual(pattern(TAG_BYTES, 9));
    }
  });

  it("structured: an error chunk is the request's error once its DONE comes (the first error counts, a message skipped)", () => {
    const message = [...Buffer.from('disk on fire')];
    const stream = [
      ...chunk(0, NBD_REPLY_TYPE.ERROR_OFFSET, [...u32(5), ...u16(message.length), ...message, ...u64(4096)]),
      ...chunk(0, NBD_REPLY_TYPE.ERROR, [...u32(28), ...u16(0)]),
      ...chunk(0, NBD_REPLY_TYPE.OFFSET_DATA, [...u64(0), ...pattern(512, 6)]),
      ...chunk(0, NBD_REPLY_TYPE.NONE, [], true),
      ...chunk(3, NBD_REPLY_TYPE.ERROR, [...u32(28), ...u16(0)], true), // a write's ENOSPC
      ...chunk(1, NBD_REPLY_TYPE.ERROR, [...u32(0), ...u16(0)], true), // 0 is no errno: EIO
    ];
    everySplit(stream, true, ({ results, broken }) => {
      expect(broken).toBe('');
      expect([...results.entries()].sort()).toEqual([
        [0, -5],
        [1, -5],
        [3, -28],
      ]);
    });
  });

  it.each<[string, number[], boolean, RegExp]>([
    [
      'a structured reply where none were agreed',
      chunk(0, NBD_REPLY_TYPE.NONE, [], true),
      false,
      /bad magic \(0x668e33ef\)/,
    ],
    ['a bad magic', [...u32(0x12345678), ...new Array<number>(16).fill(0)], true, /bad magic \(0x12345678\)/],
    ['a cookie it was not sent', simple(9, 0), true, /replied to cookie 9, which it was not sent/],
    [
      'data past the end of the request',
      chunk(0, NBD_REPLY_TYPE.OFFSET_DATA, [...u64(TAG_BYTES - 512), ...pattern(1024, 7)], true),
      true,
      /data outside the request of cookie 0/,
    ],
    [
      'a hole before the start of the request',
      chunk(1, NBD_REPLY_TYPE.OFFSET_HOLE, [...u64(0), ...u32(512)], true),
      true,
      /data outside the request of cookie 1/,
    ],
    [
      'data for a write',
      chunk(3, NBD_REPLY_TYPE.OFFSET_DATA, [...u64(3 * 2 ** 20), ...pattern(512, 8)], true),
      true,
      /data outside the request of cookie 3/,
    ],
    ['an unknown chunk type', chunk(0, 7, [], true), true, /a type tsublk does not know \(7\)/],
    ['a NONE chunk with a payload', chunk(0, NBD_REPLY_TYPE.NONE, [1, 2], true), true, /NONE chunk with 2 bytes/],
  ])('breaks the stream on %s, ending nothing', (_what, stream, structured, reason) => {
    everySplit(stream, structured, ({ results, broken }) => {
      expect(broken).toMatch(reason);
      expect(results.size).toBe(0);
    });
  });
});
