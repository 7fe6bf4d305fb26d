// The NBD connection's send batches: iovecs gathered in one half while the other is written, and
// a writev the socket took only in part continued from the byte where it stopped.
import { afterEach, describe, expect, it } from 'vitest';
import { HostMemory } from '../../native-bindings/host-memory.js';
import type { QueueIo } from '../../src/blk/queue-io.js';
import { Request } from '../../src/blk/request.js';
import { SendBatches } from '../../src/targets/nbd/send-batches.js';

/** A write request of `bytes` with tag `tag` (zero copy: no buffer of ours). */
function writeRequest(tag: number, bytes: number): Request<undefined> {
  const rq = new Request<undefined>(0, tag, new Uint8Array(0), 0, undefined, { completeRequest: () => {} });
  rq.sectors = bytes / 512;
  return rq;
}

/** The QueueIo calls SendBatches makes: memory (real, native), and the writes it starts (recorded). */
function recordingIo(): {
  io: QueueIo;
  writes: Array<{ iovecs?: Array<[number, number]>; tag?: number; length?: number; offset?: number }>;
  memory: HostMemory[];
} {
  const memory: HostMemory[] = [];
  const writes: Array<{ iovecs?: Array<[number, number]>; tag?: number; length?: number; offset?: number }> = [];
  const io = {
    writeStreamFromRequest(_stream: number, _fd: number, rq: Request<unknown>, length: number, offset: number) {
      writes.push({ tag: rq.tag, length, offset });
    },
    allocate(length: number, what: string) {
      const block = new HostMemory(length, what);
      memory.push(block);
      return block;
    },
    writeStream(_stream: number, _fd: number, iovecs: number, count: number) {
      // SAFETY: the iovecs lie in the block allocate() gave, which the test keeps until afterEach.
      const block = memory[0] as HostMemory;
      const words = new DataView(block.bytes.buffer, block.bytes.byteOffset, block.bytes.length);
      const at = iovecs - block.address;
      writes.push({
        iovecs: Array.from({ length: count }, (_, i) => [
          Number(words.getBigUint64(at + i * 16, true)),
          Number(words.getBigUint64(at + i * 16 + 8, true)),
        ]),
      });
    },
  } as unknown as QueueIo;
  return { io, writes, memory };
}

describe('SendBatches', () => {
  const blocks: HostMemory[] = [];
  afterEach(() => blocks.splice(0).forEach((block) => block.free()));

  it('writes what was gathered, continues a short write mid-iovec, and gathers the next batch meanwhile', () => {
    const { io, writes, memory } = recordingIo();
    const batches = new SendBatches(io, 4);
    blocks.push(...memory);
    batches.append(0x1000, 10);
    batches.append(0x2000, 20);
    batches.append(0x3000, 30);
    expect(batches.startBatch()).toBe(true);
    batches.write(io, 0, 7);
    expect(writes.at(-1)?.iovecs).toEqual([
      [0x1000, 10],
      [0x2000, 20],
      [0x3000, 30],
    ]);
    expect(batches.sending).toBe(true);

    batches.append(0x4000, 40); // the other half, while the writev is in flight
    expect(batches.startBatch()).toBe(false); // one writev at a time

    expect(batches.written(15)).toBe(false); // 10 and 5 of 20
    expect(batches.shortSends).toBe(1);
    batches.write(io, 0, 7);
    expect(writes.at(-1)?.iovecs).toEqual([
      [0x2005, 15],
      [0x3000, 30],
    ]);
    expect(batches.written(45)).toBe(true);
    expect(batches.sending).toBe(false);

    expect(batches.startBatch()).toBe(true);
    batches.write(io, 0, 7);
    expect(writes.at(-1)?.iovecs).toEqual([[0x4000, 40]]);
    expect(batches.written(40)).toBe(true);
    expect(batches.startBatch()).toBe(false); // nothing gathered
  });

  it("zero copy: a write's data goes alone from its request's pages, between writevs of the headers around it", () => {
    const { io, writes, memory } = recordingIo();
    const batches = new SendBatches(io, 4);
    blocks.push(...memory);
    batches.append(0x1000, 28);
    batches.appendRequestData(writeRequest(2, 4096));
    batches.append(0x1020, 28);
    batches.append(0x1040, 28);
    batches.appendRequestData(writeRequest(3, 1024));
    expect(batches.startBatch()).toBe(true);
    batches.write(io, 0, 7);
    expect(writes.at(-1)).toEqual({ iovecs: [[0x1000, 28]] });
    expect(batches.written(28)).toBe(false);
    expect(batches.shortSends).toBe(0); // it wrote all it was given
    batches.write(io, 0, 7);
    expect(writes.at(-1)).toEqual({ tag: 2, length: 4096, offset: 0 });
    expect(batches.written(1000)).toBe(false); // short: the rest of the pages next
    expect(batches.shortSends).toBe(1);
    batches.write(io, 0, 7);
    expect(writes.at(-1)).toEqual({ tag: 2, length: 3096, offset: 1000 });
    expect(batches.written(3096)).toBe(false);
    batches.write(io, 0, 7);
    expect(writes.at(-1)).toEqual({
      iovecs: [
        [0x1020, 28],
        [0x1040, 28],
      ],
    });
    expect(batches.written(56)).toBe(false);
    batches.write(io, 0, 7);
    expect(writes.at(-1)).toEqual({ tag: 3, length: 1024, offset: 0 });
    expect(batches.written(1024)).toBe(true);
    expect(batches.shortSends).toBe(1);
  });

  it('forgets both halves when the socket is lost', () => {
    const { io, memory } = recordingIo();
    const batches = new SendBatches(io, 2);
    blocks.push(...memory);
    batches.append(0x1000, 8);
    expect(batches.startBatch()).toBe(true);
    batches.append(0x2000, 8);
    batches.reset();
    expect(batches.sending).toBe(false);
    expect(batches.startBatch()).toBe(false);
  });
});
