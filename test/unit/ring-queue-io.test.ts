import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HostMemory } from '../../native-bindings/host-memory.js';
import { FALLOC_FL } from '../../native-bindings/libc.js';
import { Request, type RequestCompleter } from '../../src/blk/request.js';
import { RingQueueIo } from '../../src/ublk/ring-queue-io.js';
import { userDataTag } from '../../src/ublk/user-data.js';
import { Ring } from '../../src/uring/ring.js';

const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const undo of cleanup.splice(0).reverse()) undo();
});

const TAG_BYTES = 65536;

/** A queue's ring and request buffers with a QueueIo over them, and a file of `bytes`. */
function setUp(bytes: number): {
  io: RingQueueIo;
  ring: Ring;
  rqs: Request[];
  fd: number;
  file: string;
  results: Map<number, number>;
} {
  const dir = mkdtempSync(path.join(tmpdir(), 'tsublk-io-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'backing');
  writeFileSync(file, Buffer.alloc(bytes, 0x5a));
  const fd = openSync(file, 'r+');
  cleanup.push(() => closeSync(fd));
  const ring = Ring.create(16);
  cleanup.push(() => ring.close());
  const buffers = new HostMemory(4 * TAG_BYTES);
  cleanup.push(() => buffers.free());
  const completer: RequestCompleter = { completeRequest: () => undefined };
  const rqs = [0, 1, 2, 3].map(
    (tag) =>
      new Request(
        0,
        tag,
        buffers.bytes.subarray(tag * TAG_BYTES, (tag + 1) * TAG_BYTES),
        buffers.address + tag * TAG_BYTES,
        undefined,
        completer,
      ),
  );
  return {
    io: new RingQueueIo(ring, 0, -1, 4, { address: buffers.address, bytesPerTag: TAG_BYTES }),
    ring,
    rqs,
    fd,
    file,
    results: new Map(),
  };
}

/** Submits what is queued and collects one result per tag until `count` have come. */
function reap(ring: Ring, results: Map<number, number>, count: number): void {
  while (results.size < count) {
    ring.submitAndWait(1);
    ring.drainCompletions((userData, result) => void results.set(userDataTag(userData), result));
  }
}

describe('RingQueueIo: file I/O straight to and from request buffers', () => {
  it.each([true, false])('moves data both ways (fixed buffers: %s), a durable write with RWF_DSYNC', (fixed) => {
    const { io, ring, rqs, fd, file, results } = setUp(1 << 20);
    if (fixed) expect(io.useFixedRequestBuffers()).toBe(true);
    rqs[0]!.buffer.fill(0xa1, 0, 8192);
    io.writeFromRequest(rqs[0]!, fd, 4096, 8192, 4096, true); // the second 4 KiB of tag 0's buffer
    reap(ring, results, 1);
    expect(results.get(0)).toBe(4096);
    expect(
      readFileSync(file)
        .subarray(8192, 8192 + 4096)
        .every((b) => b === 0xa1),
    ).toBe(true);
    io.readIntoRequest(rqs[3]!, fd, 12288, 4096, 512);
    reap(ring, results, 2);
    expect(results.get(3)).toBe(12288);
    const got = rqs[3]!.buffer;
    expect(got.subarray(512, 512 + 4096).every((b) => b === 0x5a)).toBe(true);
    expect(got.subarray(512 + 4096, 512 + 8192).every((b) => b === 0xa1)).toBe(true);
  });

  it('punches a hole and zeroes a range with fallocate', () => {
    const { io, ring, rqs, fd, file, results } = setUp(1 << 20);
    io.fallocateFile(rqs[1]!, fd, FALLOC_FL.PUNCH_HOLE | FALLOC_FL.KEEP_SIZE, 0, 1 << 19);
    io.fallocateFile(rqs[2]!, fd, FALLOC_FL.ZERO_RANGE, 1 << 19, 4096);
    reap(ring, results, 2);
    expect([results.get(1), results.get(2)]).toEqual([0, 0]);
    const data = readFileSync(file);
    expect(data.length).toBe(1 << 20);
    expect(data.subarray(0, (1 << 19) + 4096).every((b) => b === 0)).toBe(true);
    expect(data[(1 << 19) + 4096]).toBe(0x5a);
    expect(statSync(file).blocks * 512).toBeLessThan(1 << 20);
  });

  it('has no fixed buffers, and no file I/O into requests, on the user copy path', () => {
    const ring = Ring.create(8);
    cleanup.push(() => ring.close());
    const io = new RingQueueIo(ring, 0, -1, 4, null);
    expect(io.useFixedRequestBuffers()).toBe(false);
    const rq = new Request(0, 0, new Uint8Array(0), 0, undefined, { completeRequest: () => undefined });
    expect(() => io.readIntoRequest(rq, 0, 512, 0, 0)).toThrow(/needs the copy data path/);
  });
});
