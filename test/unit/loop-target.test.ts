import {
  closeSync,
  mkdtempSync,
  openSync,
  readSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
  mkdirSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HostMemory } from '../../native-bindings/host-memory.js';
import { ReqFlag, ReqOp, Request, type RequestCompleter } from '../../src/blk/request.js';
import type { LoopConfig } from '../../src/targets/loop/config.js';
import { loopPlanner } from '../../src/targets/loop/options.js';
import { type LoopQueue, type LoopRequest, loopTarget } from '../../src/targets/loop/target.js';
import { RingQueueIo } from '../../src/ublk/ring-queue-io.js';
import { userDataTag } from '../../src/ublk/user-data.js';
import { Ring } from '../../src/uring/ring.js';

const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const undo of cleanup.splice(0).reverse()) undo();
});

function scratchDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'tsublk-loop-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const common = {
  sizeBytes: null,
  logicalBlockSize: 512,
  logicalBlockSizeGiven: false,
  queuesGiven: true,
  queues: 1,
  depth: 4,
  maxIoBufBytes: 65536,
  unprivileged: false,
  recovery: false,
  dataPath: 'auto',
} as const;
const TAG_BYTES = 65536;

/** The loop target on one queue over `file`, with a real ring (no ublk: requests are made here). */
function queue(
  file: string,
  values: Record<string, string | number | boolean> = {},
): {
  hw: LoopQueue;
  rqs: Array<Request<LoopRequest>>;
  results: Map<number, number>;
  pump: (...tags: number[]) => void;
  config: LoopConfig;
} {
  const planned = loopPlanner.plan({ file, ...values }, common).config as LoopConfig;
  const opened = loopTarget.open!(planned, 0, false, { queues: 1, depth: 4 });
  cleanup.push(() => opened.close(true));
  const ring = Ring.create(16);
  cleanup.push(() => ring.close());
  const buffers = new HostMemory(4 * TAG_BYTES);
  cleanup.push(() => buffers.free());
  const results = new Map<number, number>();
  const completer: RequestCompleter = { completeRequest: (tag, result) => void results.set(tag, result) };
  const ops = loopTarget.operations;
  const config = opened.config;
  const rqs = [0, 1, 2, 3].map(
    (tag) =>
      new Request(
        0,
        tag,
        buffers.bytes.subarray(tag * TAG_BYTES, (tag + 1) * TAG_BYTES),
        buffers.address + tag * TAG_BYTES,
        ops.newRequestData(config, 0, tag),
        completer,
      ),
  );
  const hw = ops.initHctx(
    config,
    0,
    new RingQueueIo(ring, 0, -1, 4, { address: buffers.address, bytesPerTag: TAG_BYTES }),
  );
  const pump = (...tags: number[]): void => {
    while (tags.some((tag) => !results.has(tag))) {
      ring.submitAndWait(1);
      ring.drainCompletions((userData, result) => {
        const rq = rqs[userDataTag(userData)]!;
        rq.ioResult = result;
        ops.complete!(rq, hw);
      });
    }
  };
  return { hw, rqs, results, pump, config };
}

function serve(hw: LoopQueue, rq: Request<LoopRequest>, op: number, sector: number, bytes: number, flags = 0): void {
  rq.op = op;
  rq.flags = flags;
  rq.startSector = sector;
  rq.sectors = bytes / 512;
  loopTarget.operations.queueRq(hw, undefined, rq, true);
}

function fileBytes(file: string, at: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  const fd = openSync(file, 'r');
  readSync(fd, out, 0, length, at);
  closeSync(fd);
  return out;
}

describe('the loop target over a real file and ring', () => {
  it('writes (FUA too), reads back, flushes, discards and zeroes at --offset, with O_DIRECT and fixed buffers', () => {
    const file = path.join(scratchDir(), 'disk.img');
    writeFileSync(file, Buffer.alloc(4 << 20, 0x33));
    const { hw, rqs, results, pump, config } = queue(file, { offset: 1 << 20 });
    expect(config.sizeBytes).toBe(3 << 20);
    expect(config.discard).toBe(true);
    const [w, r, f, d] = rqs as [
      Request<LoopRequest>,
      Request<LoopRequest>,
      Request<LoopRequest>,
      Request<LoopRequest>,
    ];
    for (let i = 0; i < 65536; i++) w.buffer[i] = (i * 7 + 3) & 0xff;
    serve(hw, w, ReqOp.Write, 8, 65536, ReqFlag.Fua);
    pump(0);
    expect(results.get(0)).toBe(65536);
    expect(fileBytes(file, (1 << 20) + 4096, 65536).equals(Buffer.from(w.buffer))).toBe(true);
    serve(hw, r, ReqOp.Read, 8, 65536);
    serve(hw, f, ReqOp.Flush, 0, 0);
    pump(1, 2);
    expect([results.get(1), results.get(2)]).toEqual([65536, 0]);
    expect(Buffer.from(r.buffer).equals(Buffer.from(w.buffer))).toBe(true);
    serve(hw, d, ReqOp.Discard, 8, 32768);
    pump(3);
    results.clear();
    serve(hw, d, ReqOp.WriteZeroes, 72, 32768, ReqFlag.NoUnmap);
    pump(3);
    expect(fileBytes(file, (1 << 20) + 4096, 65536).every((b) => b === 0)).toBe(true);
    expect(fileBytes(file, (1 << 20) + 4096 + 65536, 16)[0]).toBe(0x33);
    expect([hw.writes, hw.reads, hw.flushes, hw.discards, hw.writeZeroes, hw.errors]).toEqual([1, 1, 1, 1, 1, 0]);
  });

  it('gives zeros for the part of a read past a file that shrank, and fails such a write', () => {
    const file = path.join(scratchDir(), 'disk.img');
    writeFileSync(file, Buffer.alloc(1 << 20, 0x44));
    const { hw, rqs, results, pump } = queue(file, { buffered_io: true });
    truncateSync(file, (1 << 20) - 4096);
    const [r, w] = rqs as [Request<LoopRequest>, Request<LoopRequest>];
    r.buffer.fill(0xff);
    serve(hw, r, ReqOp.Read, 2048 - 16, 8192);
    serve(hw, w, ReqOp.Write, 2048 - 16, 8192);
    pump(0, 1);
    expect(results.get(0)).toBe(8192);
    expect(r.buffer.subarray(0, 4096).every((b) => b === 0x44)).toBe(true);
    expect(r.buffer.subarray(4096, 8192).every((b) => b === 0)).toBe(true);
    expect(results.get(1)).toBe(8192); // a regular file grows on write: nothing short about it
  });

  it('refuses bad input in one line: no file, a directory, a size or offset the file cannot hold', () => {
    const dir = scratchDir();
    const file = path.join(dir, 'small.img');
    writeFileSync(file, Buffer.alloc(1 << 20));
    mkdirSync(path.join(dir, 'sub'));
    expect(() => loopPlanner.plan({}, common)).toThrow(
      'the loop target serves a file: add -f FILE (a regular file or a block device)',
    );
    expect(() => loopPlanner.plan({ file: path.join(dir, 'nope') }, common)).toThrow(
      `${path.join(dir, 'nope')} does not exist: give -f an existing file or block device`,
    );
    expect(() => loopPlanner.plan({ file: path.join(dir, 'sub') }, common)).toThrow(
      'is a directory: give -f a regular file or a block device',
    );
    const open = (values: Record<string, number | string | boolean>, size: number | null = null) =>
      loopTarget.open!(
        loopPlanner.plan({ file, ...values }, { ...common, sizeBytes: size }).config as LoopConfig,
        0,
        false,
        { queues: 1, depth: 4 },
      );
    expect(() => open({}, 2 << 20)).toThrow(
      `--size 2097152 is larger than ${file} (1048576 bytes): leave --size out to use the whole file, or give a smaller one`,
    );
    expect(() => open({ offset: 1 << 20 })).toThrow('is at or past the end');
    const opened = open({});
    cleanup.push(() => opened.close(true));
    expect(() => open({})).toThrow(
      `${file} is served by another tsublk device: pick another file, or delete that device first`,
    );
    expect(statSync(file).size).toBe(1 << 20);
  });
});

describe('resize (the daemon side of tsublk resize)', () => {
  it('grows the file past its end, and shrinks below it only with --truncate', () => {
    const file = path.join(scratchDir(), 'disk.img');
    writeFileSync(file, Buffer.alloc(1 << 20));
    const opened = loopTarget.open!(loopPlanner.plan({ file }, common).config as LoopConfig, 0, false, {
      queues: 1,
      depth: 4,
    });
    cleanup.push(() => opened.close(true));
    expect(opened.resize!(2 << 20, false).sizeBytes).toBe(2 << 20);
    expect(statSync(file).size).toBe(2 << 20);
    expect(() => opened.resize!(1 << 19, false)).toThrow(
      `${file} is 2097152 bytes: a 524288-byte disk would leave 1572864 of them unserved: add --truncate to cut the file there (what lies past it is lost)`,
    );
    expect(statSync(file).size).toBe(2 << 20);
    expect(opened.resize!(1 << 19, true).sizeBytes).toBe(1 << 19);
    expect(statSync(file).size).toBe(1 << 19);
  });
});
