import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  IORING_ASYNC_CANCEL,
  IORING_CQE_BUFFER_SHIFT,
  IORING_CQE_F,
  IORING_TIMEOUT,
  IOSQE,
} from '../../native-bindings/io_uring.js';
import { O, close, open } from '../../native-bindings/libc.js';
import { HostMemory } from '../../native-bindings/host-memory.js';
import { ProvidedBufferRing } from '../../src/uring/buffer-ring.js';
import { Ring, type RingOptions } from '../../src/uring/ring.js';

const EBADF = 9;
const EFAULT = 14;
const ETIME = 62;
const ECANCELED = 125;
const EOPNOTSUPP = 95;

type Completion = [userData: number, result: number];

describe('Ring on the host kernel', () => {
  const cleanup: Array<() => void> = [];
  const ring = (entries: number, options?: RingOptions): Ring => {
    const created = Ring.create(entries, options);
    cleanup.push(() => created.close());
    return created;
  };
  const memory = (length: number): HostMemory => {
    const created = new HostMemory(length);
    cleanup.push(() => created.free());
    return created;
  };
  const drain = (r: Ring): Completion[] => {
    const seen: Completion[] = [];
    r.drainCompletions((userData, result) => seen.push([userData, result]));
    return seen;
  };
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'tsublk-ring-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(() => {
    for (const undo of cleanup.splice(0).reverse()) undo();
  });

  it('round-trips NOPs with their user_data, including values above 2^32', () => {
    const r = ring(8);
    const sent = [0, 1, 0xffff_ffff, 0x1_0000_0000, 2 ** 53 - 1];
    for (const userData of sent) r.prepNop(r.getSqe(), userData);
    expect(r.submitAndWait(sent.length)).toBe(sent.length);
    expect(drain(r)).toEqual(sent.map((userData) => [userData, 0]));
    expect(r.completionsReady()).toBe(0);
  });

  it('writes a file and reads it back byte for byte, at offsets past 4 GiB too', () => {
    const file = path.join(dir, 'data');
    writeFileSync(file, '');
    const fd = open(file, O.RDWR);
    cleanup.push(() => close(fd));
    const r = ring(8);
    const source = memory(64 * 1024);
    for (let i = 0; i < source.length; i++) source.bytes[i] = (i * 7 + 3) & 0xff;
    const farOffset = 5 * 2 ** 30; // exercises the high half of the 64-bit offset
    r.prepWrite(r.getSqe(), fd, source.address, source.length, 0, 1);
    r.prepWrite(r.getSqe(), fd, source.address + 4096, 4096, farOffset, 2);
    r.submitAndWait(2);
    expect(drain(r).sort()).toEqual([
      [1, source.length],
      [2, 4096],
    ]);
    const onDisk = (length: number, position: number): Buffer => {
      const bytes = Buffer.alloc(length);
      const handle = openSync(file, 'r');
      readSync(handle, bytes, 0, length, position);
      closeSync(handle);
      return bytes;
    };
    expect(onDisk(source.length, 0).equals(Buffer.from(source.bytes))).toBe(true);
    expect(onDisk(4096, farOffset).equals(Buffer.from(source.bytes.subarray(4096, 8192)))).toBe(true);

    const target = memory(64 * 1024);
    r.prepRead(r.getSqe(), fd, target.address, target.length, 0, 3);
    r.prepRead(r.getSqe(), fd, target.address, 4096, farOffset, 4);
    r.submitAndWait(2);
    expect(drain(r).sort()).toEqual([
      [3, target.length],
      [4, 4096],
    ]);
    // The second read overwrote the first page with source bytes 4096..8191.
    expect(Buffer.from(target.bytes.subarray(0, 4096)).equals(Buffer.from(source.bytes.subarray(4096, 8192)))).toBe(
      true,
    );
    expect(Buffer.from(target.bytes.subarray(4096)).equals(Buffer.from(source.bytes.subarray(4096)))).toBe(true);

    r.prepFsync(r.getSqe(), fd, true, 5);
    r.submitAndWait(1);
    expect(drain(r)).toEqual([[5, 0]]);
  });

  it('reads and writes through registered files and buffers', () => {
    const file = path.join(dir, 'fixed');
    writeFileSync(file, Buffer.alloc(8192, 0x5a));
    const fd = open(file, O.RDWR);
    cleanup.push(() => close(fd));
    const r = ring(4);
    const buffer = memory(8192);
    r.registerFiles([fd]);
    r.registerBuffers([{ address: buffer.address, length: buffer.length }]);
    const sqe = r.getSqe();
    r.prepReadFixed(sqe, 0 /* index in the file table */, buffer.address, 8192, 0, 0, 1);
    r.setSqeFlags(sqe, IOSQE.FIXED_FILE);
    r.submitAndWait(1);
    expect(drain(r)).toEqual([[1, 8192]]);
    expect(buffer.bytes.every((b) => b === 0x5a)).toBe(true);
    buffer.bytes.fill(0xa5, 0, 4096);
    const write = r.getSqe();
    r.prepWriteFixed(write, 0, buffer.address, 4096, 4096, 0, 2);
    r.setSqeFlags(write, IOSQE.FIXED_FILE);
    r.submitAndWait(1);
    expect(drain(r)).toEqual([[2, 4096]]);
    expect(
      readFileSync(file)
        .subarray(4096)
        .every((b) => b === 0xa5),
    ).toBe(true);
  });

  it('works with 128-byte SQEs and 32-byte CQEs', () => {
    const r = ring(4, { sqe128: true, cqe32: true });
    expect([r.sqeSize, r.cqeSize]).toEqual([128, 32]);
    for (let i = 0; i < 4; i++) r.prepNop(r.getSqe(), 7 + i);
    r.submitAndWait(4);
    expect(drain(r)).toEqual([
      [7, 0],
      [8, 0],
      [9, 0],
      [10, 0],
    ]);
  });

  it('works with the taskrun and single-issuer setup flags the ublk queues use', () => {
    const r = ring(4, { coopTaskrun: true, singleIssuer: true, deferTaskrun: true });
    r.prepNop(r.getSqe(), 1);
    r.submitAndWait(1);
    expect(drain(r)).toEqual([[1, 0]]);
  });

  it('registers an empty table of fixed buffers, which READ_FIXED refuses until a slot is filled', () => {
    const r = ring(4);
    r.registerSparseBuffers(8);
    const file = path.join(dir, 'sparse');
    writeFileSync(file, 'x'.repeat(4096));
    const fd = open(file, O.RDONLY);
    try {
      r.prepReadFixed(r.getSqe(), fd, 0, 4096, 0, 3, 1); // slot 3 is empty
      r.submitAndWait(1);
      expect(drain(r)).toEqual([[1, -EFAULT]]);
    } finally {
      close(fd);
    }
  });

  it('hands out an SQE when the queue is full by submitting what is prepared first', () => {
    const r = ring(2);
    for (const userData of [1, 2]) r.prepNop(r.getSqe(), userData);
    expect(r.getSqe()).toBe(-1);
    const third = r.getSqeSubmitting();
    expect(third).toBeGreaterThanOrEqual(0);
    r.prepNop(third, 3);
    expect(r.pendingSubmissions()).toBe(1); // the first two went to the kernel
    r.submitAndWait(3);
    expect(drain(r).map(([userData]) => userData)).toEqual([1, 2, 3]);
  });

  it('makes room for a chain of SQEs by submitting what is prepared only when too few are free', () => {
    const r = ring(4);
    for (const userData of [1, 2, 3]) r.prepNop(r.getSqe(), userData);
    r.roomFor(1); // one is free
    expect(r.pendingSubmissions()).toBe(3);
    r.roomFor(2); // one is not enough: the three go first
    expect(r.pendingSubmissions()).toBe(0);
    for (const userData of [4, 5, 6, 7]) r.prepNop(r.getSqe(), userData);
    r.submitAndWait(7);
    expect(drain(r).map(([userData]) => userData)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('reads into provided buffers consumed a piece at a time (IOU_PBUF_RING_INC), as batch I/O fetches do', () => {
    const r = ring(4);
    const file = path.join(dir, 'provided');
    writeFileSync(file, 'abcdefgh');
    const fd = open(file, O.RDONLY);
    const buffer = memory(4096);
    const provided = new ProvidedBufferRing(r, 7, 1, true);
    try {
      provided.provide(buffer.address, 16, 3);
      const flags: number[] = [];
      for (const offset of [0, 4]) {
        const sqe = r.getSqe();
        r.prepRead(sqe, fd, 0, 4, offset, offset);
        r.selectBuffer(sqe, 7);
        r.submitAndWait(1);
        r.drainCompletions((_, result, cqeFlags) => {
          expect(result).toBe(4);
          flags.push(cqeFlags);
        });
      }
      // Both reads used buffer 3, the second one right after the first: 12 bytes, then 8, were left.
      for (const cqeFlags of flags) {
        expect(cqeFlags & IORING_CQE_F.BUFFER).toBe(IORING_CQE_F.BUFFER);
        expect(cqeFlags >>> IORING_CQE_BUFFER_SHIFT).toBe(3);
        expect(cqeFlags & IORING_CQE_F.BUF_MORE).toBe(IORING_CQE_F.BUF_MORE);
      }
      expect(Buffer.from(buffer.bytes.subarray(0, 8)).toString()).toBe('abcdefgh');
    } finally {
      close(fd);
      r.close();
      provided.free();
    }
  });

  it('busy-polls: submits what is prepared and stops at the first completion, or after its enters', () => {
    const r = ring(4, { coopTaskrun: true, singleIssuer: true });
    expect(r.spinForCompletion(5)).toBe(5); // nothing to catch: every enter spent
    expect(r.completionsReady()).toBe(0);
    r.prepNop(r.getSqe(), 1);
    expect(r.spinForCompletion(5)).toBe(1); // the first enter submits it and finds it done
    expect(drain(r)).toEqual([[1, 0]]);
    r.prepTimeout(r.getSqe(), 2e6, 0, 0, 2); // completes 2 ms later, during the spin
    const enters = r.spinForCompletion(1e6);
    expect(enters).toBeGreaterThan(1);
    expect(enters).toBeLessThan(1e6);
    expect(drain(r)).toEqual([[2, -ETIME]]);
  });

  it('fires a timeout with -ETIME, and completes a counting one with 0', () => {
    const r = ring(4);
    r.prepTimeout(r.getSqe(), 20e6, 0, 0, 1);
    r.submitAndWait(1);
    expect(drain(r)).toEqual([[1, -ETIME]]);

    r.prepTimeout(r.getSqe(), 10e9, 1, 0, 2); // ends after one other completion
    r.prepNop(r.getSqe(), 3);
    r.submitAndWait(2);
    expect(drain(r).sort()).toEqual([
      [2, 0],
      [3, 0],
    ]);

    r.prepTimeout(r.getSqe(), 20e6, 0, IORING_TIMEOUT.ETIME_SUCCESS, 4);
    r.submitAndWait(1);
    expect(drain(r)).toEqual([[4, -ETIME]]);
  });

  it('ends a wait after its timeout when nothing completes', () => {
    const r = ring(4);
    r.prepTimeout(r.getSqe(), 60e9, 0, 0, 1); // never completes during the test
    expect(r.submitAndWait(1, 30e6)).toBe(1);
    expect(r.completionsReady()).toBe(0);
    expect(r.submitAndWait(1, 10e6)).toBe(0);
    expect(r.completionsReady()).toBe(0);
    r.prepCancel(r.getSqe(), 1, 0, 2);
    r.submitAndWait(2);
    expect(drain(r).sort()).toEqual([
      [1, -ECANCELED],
      [2, 0],
    ]);
  });

  it('cancels by user_data, and says -ENOENT for nothing to cancel', () => {
    const r = ring(4);
    r.prepTimeout(r.getSqe(), 60e9, 0, 0, 10);
    r.prepTimeout(r.getSqe(), 60e9, 0, 0, 10);
    r.submit();
    r.prepCancel(r.getSqe(), 10, IORING_ASYNC_CANCEL.ALL, 11);
    r.submitAndWait(3);
    expect(drain(r).sort()).toEqual([
      [10, -ECANCELED],
      [10, -ECANCELED],
      [11, 2],
    ]);
    r.prepCancel(r.getSqe(), 99, 0, 12);
    r.submitAndWait(1);
    expect(drain(r)).toEqual([[12, -2]]);
  });

  it('reports errors in cqe.res: a bad fd is -EBADF, a uring_cmd on a plain file -EOPNOTSUPP', () => {
    const r = ring(4, { sqe128: true });
    const buffer = memory(4096);
    r.prepRead(r.getSqe(), 9999, buffer.address, 4096, 0, 1);
    r.submitAndWait(1);
    expect(drain(r)).toEqual([[1, -EBADF]]);

    const file = path.join(dir, 'plain');
    writeFileSync(file, 'x');
    const fd = open(file, O.RDONLY);
    cleanup.push(() => close(fd));
    const sqe = r.getSqe();
    const cmd = r.prepUringCmd(sqe, fd, 0x1234, 2);
    expect(cmd).toBe(sqe * r.sqeStride + 12);
    r.sqeWords[cmd] = 0xdeadbeef; // the command area is ours to fill
    r.submitAndWait(1);
    expect(drain(r)).toEqual([[2, -EOPNOTSUPP]]);
  });

  it('hands out no SQE when the submission queue is full, and frees them on submit', () => {
    const r = ring(4);
    for (let i = 0; i < r.sqEntries; i++) r.prepNop(r.getSqe(), i);
    expect(r.getSqe()).toBe(-1);
    expect(r.pendingSubmissions()).toBe(r.sqEntries);
    r.submitAndWait(r.sqEntries);
    expect(drain(r)).toHaveLength(r.sqEntries);
    expect(r.getSqe()).toBeGreaterThanOrEqual(0);
  });

  it('loses no completion when the CQ ring overflows', () => {
    const r = ring(4, { cqEntries: 4 });
    expect(r.cqEntries).toBe(4);
    let next = 0;
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 4; i++) r.prepNop(r.getSqe(), next++);
      r.submit();
    }
    expect(r.completionsReady()).toBe(4);
    expect(r.overflowPending()).toBe(true);
    const seen = drain(r).map(([userData]) => userData);
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(r.overflowPending()).toBe(false);
  });

  it('survives a signal during a wait', async () => {
    const r = ring(4);
    process.on('SIGUSR2', () => undefined);
    const child = spawn('sh', ['-c', `sleep 0.2; kill -USR2 ${process.pid}`]);
    const exited = new Promise((resolve) => child.on('exit', resolve));
    r.prepTimeout(r.getSqe(), 1e9, 0, 0, 1);
    r.submitAndWait(1); // interrupted or not, it returns without throwing
    await exited;
    while (r.completionsReady() === 0) r.submitAndWait(1);
    expect(drain(r)).toEqual([[1, -ETIME]]);
  });

  it('explains a failed setup, naming the call and the errno', () => {
    expect(() => Ring.create(0)).toThrow(/io_uring_setup\(entries=0\): EINVAL \(invalid ring parameters/);
  });
});
