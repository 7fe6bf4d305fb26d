// The null target's device-wide attributes, run in-process through its Operations (copy mode:
// each request has a buffer of its own): memory_backed, the write cache and power, badblocks,
// mbps, and what `tsublk set` may change.
import { afterEach, describe, expect, it } from 'vitest';
import type { QueueIo } from '../../src/blk/queue-io.js';
import { ReqFlag, ReqOp, Request, type RequestCompleter } from '../../src/blk/request.js';
import { nowNs } from '../../src/targets/null-completions.js';
import { type NullConfig, nullTarget } from '../../src/targets/null.js';
import { applyBadblockEdits, parseBadblocks } from '../../src/targets/null-badblocks.js';
import { nullChangeFrom, nullConfigFrom } from '../../src/targets/null-options.js';
import type { OpenedTarget } from '../../src/blk/target.js';
import { HostMemory } from '../../native-bindings/host-memory.js';

class Recorder implements RequestCompleter {
  readonly ended = new Map<number, number>();
  completeRequest(tag: number, result: number): void {
    this.ended.set(tag, result);
  }
}

const io = { depth: 8 } as QueueIo;
const ops = nullTarget.operations;
const opened: Array<OpenedTarget<NullConfig>> = [];
const buffers: HostMemory[] = [];
let nextId = 90_000 + (process.pid % 1000) * 10;

afterEach(() => {
  for (const target of opened.splice(0)) target.close(true);
  for (const buffer of buffers.splice(0)) buffer.free();
});

/** A device opened as the daemon opens it (its /dev/shm files included) and one queue of it. */
function device(config: Partial<NullConfig>) {
  const target = nullTarget.open!(
    { sizeBytes: 2 ** 20, logicalBlockSize: 512, memoryBacked: 1, ...config },
    nextId++,
    false,
    { queues: 1, depth: 8 },
  );
  opened.push(target);
  const hw = ops.initHctx(nullTarget.tagSetData(target.config), 0, io);
  const recorder = new Recorder();
  const memory = new HostMemory(8 * 65536, 'request buffers');
  buffers.push(memory);
  let tag = 0;
  /** Serves one request of `sectors` at `sector`; a write carries `fill` in every byte. Returns its result and, for reads, the bytes. */
  const io1 = (
    op: number,
    sector: number,
    sectors: number,
    fill = 0,
    flags = 0,
  ): { result: number | undefined; bytes: Uint8Array } => {
    tag = (tag + 1) % 8;
    const offset = tag * 65536;
    const rq = new Request<undefined>(
      0,
      tag,
      memory.bytes.subarray(offset, offset + 65536),
      memory.address + offset,
      undefined,
      recorder,
    );
    rq.op = op;
    rq.flags = flags;
    rq.startSector = sector;
    rq.sectors = sectors;
    rq.buffer.fill(op === ReqOp.Write ? fill : 0xee);
    recorder.ended.delete(tag);
    ops.queueRq(hw, undefined, rq, true);
    ops.commitRqs?.(hw, undefined);
    return { result: recorder.ended.get(tag), bytes: rq.buffer.slice(0, sectors * 512) };
  };
  const read = (sector: number, sectors = 1) => io1(ReqOp.Read, sector, sectors);
  const write = (sector: number, sectors: number, fill: number, flags = 0) =>
    io1(ReqOp.Write, sector, sectors, fill, flags).result;
  return { target, hw, io1, read, write };
}

describe('memory_backed', () => {
  it('keeps what is written, and discard reads back zeros', () => {
    const { read, write, io1 } = device({ discard: 1 });
    expect(write(8, 8, 0x5a)).toBe(4096);
    expect(read(8, 8)).toEqual({ result: 4096, bytes: new Uint8Array(4096).fill(0x5a) });
    expect(io1(ReqOp.Discard, 8, 8).result).toBe(4096 * 0); // discard ends with 0 bytes
    expect(read(8, 8).bytes).toEqual(new Uint8Array(4096));
  });

  it('advertises discard, the cache and FUA only as configured', () => {
    expect(
      nullTarget.disk({
        sizeBytes: 2 ** 20,
        logicalBlockSize: 4096,
        memoryBacked: 1,
        discard: 1,
        rotational: 1,
        maxSectors: 64,
      }),
    ).toMatchObject({
      logicalBlockSize: 4096,
      rotational: true,
      volatileCache: false,
      fua: false,
      maxSectors: 64,
      discard: { granularity: 4096 },
    });
    expect(
      nullTarget.disk({ sizeBytes: 2 ** 20, logicalBlockSize: 512, memoryBacked: 1, cacheSize: 1, fua: 0 }),
    ).toMatchObject({ volatileCache: true, fua: false });
    expect(nullTarget.disk({ sizeBytes: 2 ** 20, logicalBlockSize: 512, memoryBacked: 1, cacheSize: 1 })).toMatchObject(
      { volatileCache: true, fua: true },
    );
  });
});

describe('cache_size and power', () => {
  it('a power cut loses exactly what was never flushed; FUA writes and flushed ones survive', () => {
    const { target, read, write, io1 } = device({ cacheSize: 1 });
    expect(write(0, 8, 0xa1)).toBe(4096); // A
    expect(io1(ReqOp.Flush, 0, 0).result).toBe(0);
    expect(write(8, 8, 0xb2)).toBe(4096); // B, never flushed
    expect(write(16, 8, 0xc3, ReqFlag.Fua)).toBe(4096); // C, forced unit access
    expect(write(1, 1, 0xd4)).toBe(512); // D: one sector inside A's flushed block, never flushed
    target.change!({ power: 0 });
    expect(read(0).result).toBe(-5); // off: every request fails
    expect(target.change!({ power: 1 })).toMatchObject({ power: 1 });
    expect(read(0, 8).bytes).toEqual(new Uint8Array(4096).fill(0xa1)); // A, and not D
    expect(read(8, 8).bytes).toEqual(new Uint8Array(4096)); // B is gone
    expect(read(16, 8).bytes).toEqual(new Uint8Array(4096).fill(0xc3)); // C stayed
  });

  it('a cache that fills writes itself back first, so older writes become durable', () => {
    const { target, read, write } = device({ cacheSize: 1, sizeBytes: 2 ** 21 }); // 256 blocks of 4 KiB
    for (let block = 0; block < 256; block++) expect(write(block * 8, 8, 1)).toBe(4096);
    expect(write(256 * 8, 8, 2)).toBe(4096); // no room: the first 256 go to the store first
    target.change!({ power: 0 });
    target.change!({ power: 1 });
    expect(read(255 * 8, 8).bytes[0]).toBe(1);
    expect(read(256 * 8, 8).bytes[0]).toBe(0);
  });
});

describe('badblocks', () => {
  it('parses, merges and splits ranges as null_blk does (END included)', () => {
    expect(parseBadblocks('+100-200,-150-160,300-310')).toEqual([
      { add: true, start: 100, end: 200 },
      { add: false, start: 150, end: 160 },
      { add: true, start: 300, end: 310 },
    ]);
    expect(applyBadblockEdits([], parseBadblocks('+100-200,-150-160,+201-210'))).toEqual([
      { start: 100, end: 149 },
      { start: 161, end: 210 },
    ]);
    expect(() => parseBadblocks('+10-5')).toThrow(
      "bad --badblocks item '+10-5': use +START-END (add) or -START-END (clear)",
    );
  });

  it('fails exactly the requests that touch a bad range, with EIO', () => {
    const { read, write } = device({ badblocks: '+16-23' });
    expect(read(15).result).toBe(512);
    expect(read(16).result).toBe(-5);
    expect(read(23).result).toBe(-5);
    expect(read(24).result).toBe(512);
    expect(read(8, 16).result).toBe(-5);
    expect(write(20, 1, 1)).toBe(-5);
  });

  it('once: a range heals after its first failure', () => {
    const { read } = device({ badblocks: '+16-23,+40-41', badblocksOnce: 1 });
    expect(read(17).result).toBe(-5);
    expect(read(17).result).toBe(512);
    expect(read(40).result).toBe(-5); // the other range is still bad until it fails once
    expect(read(41).result).toBe(512);
  });

  it('partial_io: a write does its good prefix, then fails; without it, nothing is written', () => {
    for (const partial of [1, 0]) {
      const { read, write, target } = device({ badblocks: '+16-23', badblocksPartialIo: partial });
      expect(write(8, 16, 0x77)).toBe(-5);
      target.change!({ badblocks: '-16-23' });
      expect(read(8, 16).bytes.slice(0, 4096)).toEqual(new Uint8Array(4096).fill(partial === 1 ? 0x77 : 0));
      expect(read(8, 16).bytes.slice(4096)).toEqual(new Uint8Array(4096));
    }
  });

  it('set changes the list, the flags and mbps of a running device; fixed attributes are refused', () => {
    const { target, read } = device({});
    expect(target.change!({ badblocks: '+100-107', badblocks_once: 1, mbps: 20 })).toMatchObject({
      badblocks: '+100-107',
      badblocksOnce: 1,
      mbps: 20,
    });
    expect(read(100).result).toBe(-5);
    expect(() => target.change!({ cache_size: 4 })).toThrow(
      '--cache_size cannot change on a running device: delete it and add it again with the new --cache_size',
    );
    expect(() => nullChangeFrom({ mbps: -1 })).toThrow('bad --mbps -1: use --mbps with a whole number of MiB/s');
  });
});

describe('mbps', () => {
  it('books every byte on one timeline: requests end no faster than mbps MiB/s', () => {
    const { hw, write } = device({ mbps: 100, memoryBacked: 0 });
    const start = nowNs();
    for (let i = 0; i < 8; i++) write(i * 128, 128, 1); // 8 x 64 KiB = 0.5 MiB: 5 ms at 100 MiB/s
    expect(hw.pending.size).toBe(8); // none may end yet
    const wait = ops.poll?.(hw) ?? -1;
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(5e6 / 8 + 1e6);
    while (hw.pending.size > 0) ops.poll?.(hw);
    expect(nowNs() - start).toBeGreaterThanOrEqual(5e6 * 0.99);
  });
});

describe("add's new null_blk options", () => {
  it.each([
    [{ discard: 1 }, '--discard 1 needs --memory_backed 1'],
    [{ cache_size: 8 }, '--cache_size needs --memory_backed 1'],
    [{ memory_backed: 2 }, 'bad --memory_backed 2: use --memory_backed 0 or 1'],
    [{ max_sectors: 4 }, 'bad --max_sectors 4: use --max_sectors 0, or 8 or more'],
    [{ badblocks: '+1-x' }, "bad --badblocks item '+1-x'"],
  ])('refuse %j in one line', (values, message) => {
    expect(() => nullConfigFrom(values, 2)).toThrow(message);
  });
});

describe('fault injection', () => {
  /** A device that stores nothing, opened as the daemon opens it, one queue of it, and 4 KiB reads of tag N. */
  const storeless = (config: Partial<NullConfig>) => {
    const target = nullTarget.open!({ sizeBytes: 2 ** 20, logicalBlockSize: 512, ...config }, nextId++, false, {
      queues: 1,
      depth: 8,
    });
    opened.push(target);
    const hw = ops.initHctx(nullTarget.tagSetData(target.config), 0, io);
    const recorder = new Recorder();
    const read = (tag: number): Request<undefined> => {
      const rq = new Request<undefined>(0, tag, new Uint8Array(0), 0, undefined, recorder);
      rq.sectors = 8;
      return rq;
    };
    return { target, hw, recorder, read };
  };

  it('timeout_inject holds a request untouched until io_timeout, then ends it with ETIMEDOUT; set turns it off', () => {
    const { target, hw, recorder, read } = storeless({ timeoutInject: 100 });
    const rq = read(1);
    ops.queueRq(hw, undefined, rq, true);
    expect(recorder.ended.size).toBe(0);
    // No such disk here: the blk-mq default of 30 s, less what a wake-up is late by.
    expect(ops.poll?.(hw)).toBeGreaterThan(29e9);
    expect(hw.timeouts).toBe(1);
    expect(target.change?.({ timeout_inject: 0 })).toMatchObject({ timeoutInject: 0 });
    ops.queueRq(hw, undefined, read(2), true);
    expect(recorder.ended.get(2)).toBe(4096);
    ops.exitHctx(hw, 0);
    expect(recorder.ended.get(1)).toBe(-110);
  });

  it('requeue_inject serves a request again at the next poll, counting it once', () => {
    const { hw, recorder, read } = storeless({ requeueInject: 99 });
    ops.queueRq(hw, undefined, read(3), true);
    for (let round = 0; round < 10_000 && recorder.ended.size === 0; round++) ops.poll?.(hw);
    expect(recorder.ended.get(3)).toBe(4096);
    expect(hw.requeues).toBeGreaterThan(0);
    expect(hw.reads).toBe(1);
    ops.exitHctx(hw, 0);
  });

  it('refuses what cannot be injected, in one line', () => {
    expect(() => nullConfigFrom({ requeue_inject: 100 }, 1)).toThrow(
      'bad --requeue_inject 100: use --requeue_inject with a whole percent, 0 to 99 (100 would requeue every request forever)',
    );
    expect(() => nullChangeFrom({ timeout_inject: 101 })).toThrow('bad --timeout_inject 101');
  });
});
