// The NBD connection's send batches: iovecs gathered in one half while the other is written as a
// chain of linked writes (with zero copy, a write's data goes alone from its request's pages),
// and a write the socket took only in part continued from the byte where it stopped.
import { afterEach, describe, expect, it } from 'vitest';
import { HostMemory } from '../../native-bindings/host-memory.js';
import type { QueueIo } from '../../src/blk/queue-io.js';
import { Request } from '../../src/blk/request.js';
import { SendBatches, Sent } from '../../src/targets/nbd/send-batches.js';

/** A write request of `bytes` with tag `tag` (zero copy: no buffer of ours). */
function writeRequest(tag: number, bytes: number): Request<undefined> {
  const rq = new Request<undefined>(0, tag, new Uint8Array(0), 0, undefined, { completeRequest: () => {} });
  rq.sectors = bytes / 512;
  return rq;
}

/** One write a chain started: a writev's iovecs, or a request's pages; linked to the one before it. */
type Write = { iovecs?: Array<[number, number]>; tag?: number; length?: number; offset?: number; linked: boolean };

/** The QueueIo calls SendBatches makes: memory (real, native), and the writes it starts (recorded, each chain apart). */
function recordingIo(): { io: QueueIo; chains: Write[][]; memory: HostMemory[] } {
  const memory: HostMemory[] = [];
  const chains: Write[][] = [];
  let linkNext = false;
  const record = (write: Omit<Write, 'linked'>): void => {
    chains.at(-1)?.push({ ...write, linked: linkNext });
    linkNext = false;
  };
  const io = {
    allocate(length: number, what: string) {
      const block = new HostMemory(length, what);
      memory.push(block);
      return block;
    },
    roomFor: () => void chains.push([]),
    linkLast: () => void (linkNext = true),
    writeStreamFromRequest(_stream: number, _fd: number, rq: Request<unknown>, length: number, offset: number) {
      record({ tag: rq.tag, length, offset });
    },
    writeStream(_stream: number, _fd: number, iovecs: number, count: number) {
      // SAFETY: the iovecs lie in the block allocate() gave, which the test keeps until afterEach.
      const block = memory[0] as HostMemory;
      const words = new DataView(block.bytes.buffer, block.bytes.byteOffset, block.bytes.length);
      const at = iovecs - block.address;
      record({
        iovecs: Array.from({ length: count }, (_, i) => [
          Number(words.getBigUint64(at + i * 16, true)),
          Number(words.getBigUint64(at + i * 16 + 8, true)),
        ]),
      });
    },
  } as unknown as QueueIo;
  return { io, chains, memory };
}

describe('SendBatches', () => {
  const blocks: HostMemory[] = [];
  afterEach(() => blocks.splice(0).forEach((block) => block.free()));

  it('writes what was gathered, continues a short write mid-iovec, and gathers the next batch meanwhile', () => {
    const { io, chains, memory } = recordingIo();
    const batches = new SendBatches(io, 4);
    blocks.push(...memory);
    batches.append(0x1000, 10);
    batches.append(0x2000, 20);
    batches.append(0x3000, 30);
    expect(batches.startBatch()).toBe(true);
    batches.write(io, 0, 7);
    expect(chains.at(-1)).toEqual([
      {
        iovecs: [
          [0x1000, 10],
          [0x2000, 20],
          [0x3000, 30],
        ],
        linked: false,
      },
    ]);
    expect(batches.sending).toBe(true);
    expect(batches.inFlight).toBe(1);

    batches.append(0x4000, 40); // the other half, while the writev is in flight
    expect(batches.startBatch()).toBe(false); // one batch at a time

    expect(batches.written(15)).toBe(Sent.More); // 10 and 5 of 20
    expect(batches.shortSends).toBe(1);
    batches.write(io, 0, 7);
    expect(chains.at(-1)).toEqual([
      {
        iovecs: [
          [0x2005, 15],
          [0x3000, 30],
        ],
        linked: false,
      },
    ]);
    expect(batches.written(45)).toBe(Sent.Batch);
    expect(batches.sending).toBe(false);

    expect(batches.startBatch()).toBe(true);
    batches.write(io, 0, 7);
    expect(chains.at(-1)).toEqual([{ iovecs: [[0x4000, 40]], linked: false }]);
    expect(batches.written(40)).toBe(Sent.Batch);
    expect(batches.startBatch()).toBe(false); // nothing gathered
  });

  it("zero copy: a write's data goes alone from its request's pages, linked between the writevs around it; a short write cancels the rest of the chain", () => {
    const { io, chains, memory } = recordingIo();
    const batches = new SendBatches(io, 4);
    blocks.push(...memory);
    batches.append(0x1000, 28);
    batches.appendRequestData(writeRequest(2, 4096));
    batches.append(0x1020, 28);
    batches.append(0x1040, 28);
    batches.appendRequestData(writeRequest(3, 1024));
    expect(batches.startBatch()).toBe(true);
    batches.write(io, 0, 7);
    const headers: Write = {
      iovecs: [
        [0x1020, 28],
        [0x1040, 28],
      ],
      linked: true,
    };
    expect(chains.at(-1)).toEqual([
      { iovecs: [[0x1000, 28]], linked: false },
      { tag: 2, length: 4096, offset: 0, linked: true },
      headers,
      { tag: 3, length: 1024, offset: 0, linked: true },
    ]);
    expect(batches.written(28)).toBe(Sent.Pending);
    expect(batches.shortSends).toBe(0);
    expect(batches.written(1000)).toBe(Sent.Pending); // short: the kernel cancels the two after it
    expect(batches.shortSends).toBe(1);
    expect(batches.written(-125)).toBe(Sent.Pending);
    expect(batches.written(-125)).toBe(Sent.More);
    batches.write(io, 0, 7);
    expect(chains.at(-1)).toEqual([{ tag: 2, length: 3096, offset: 1000, linked: false }, headers, chains[0]?.[3]]);
    expect(batches.written(3096)).toBe(Sent.Pending);
    expect(batches.written(56)).toBe(Sent.Pending);
    expect(batches.written(1024)).toBe(Sent.Batch);
    expect(batches.shortSends).toBe(1);
  });

  it('links at most 8 writes a chain; the next chain goes on from there', () => {
    const { io, chains, memory } = recordingIo();
    const batches = new SendBatches(io, 8);
    blocks.push(...memory);
    for (let tag = 0; tag < 6; tag++) {
      batches.append(0x1000 + tag * 32, 28);
      batches.appendRequestData(writeRequest(tag, 65536));
    }
    expect(batches.startBatch()).toBe(true);
    batches.write(io, 0, 7);
    expect(chains.at(-1)).toHaveLength(8);
    for (let write = 0; write < 7; write++) expect(batches.written(write % 2 === 0 ? 28 : 65536)).toBe(Sent.Pending);
    expect(batches.written(65536)).toBe(Sent.More);
    expect(batches.shortSends).toBe(0);
    batches.write(io, 0, 7);
    expect(chains.at(-1)).toEqual([
      { iovecs: [[0x1000 + 4 * 32, 28]], linked: false },
      { tag: 4, length: 65536, offset: 0, linked: true },
      { iovecs: [[0x1000 + 5 * 32, 28]], linked: true },
      { tag: 5, length: 65536, offset: 0, linked: true },
    ]);
  });

  it('forgets both halves when the socket is lost', () => {
    const { io, memory } = recordingIo();
    const batches = new SendBatches(io, 2);
    blocks.push(...memory);
    batches.append(0x1000, 8);
    expect(batches.startBatch()).toBe(true);
    batches.write(io, 0, 7);
    batches.append(0x2000, 8);
    expect(batches.written(-32)).toBe(Sent.Failed); // EPIPE
    expect(batches.inFlight).toBe(0);
    batches.reset();
    expect(batches.sending).toBe(false);
    expect(batches.startBatch()).toBe(false);
  });
});
