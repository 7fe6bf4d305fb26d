// The memory target's copy path and backing rules, on the host: real files, a real io_uring,
// the target's own queueRq/complete pumped by a minimal queue loop (user copy needs ublk: VM).
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UBLKSRV_IO_BUF_OFFSET } from '../../native-bindings/ublk_cmd.js';
import { ReqFlag, ReqOp, Request, type RequestCompleter } from '../../src/blk/request.js';
import { openBacking, unmappableStore } from '../../src/targets/memory-backing.js';
import { filesystemTypeOf } from '../../src/targets/mount-of.js';
import { type MemoryConfig, type MemoryQueue, type MemoryRequest, memoryTarget } from '../../src/targets/memory.js';
import { RingQueueIo, userCopyPosition } from '../../src/ublk/ring-queue-io.js';
import { userDataTag } from '../../src/ublk/user-data.js';
import { HostMemory } from '../../native-bindings/host-memory.js';
import { Ring } from '../../src/uring/ring.js';

const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const undo of cleanup.splice(0).reverse()) undo();
});

function scratchDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'tsublk-memory-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe('openBacking', () => {
  it('creates a missing --backing file sparse, at the size asked, and keeps it on close', () => {
    const file = path.join(scratchDir(), 'disk.img');
    const opened = openBacking(file, 64 * 2 ** 20, 0);
    expect(statSync(file).size).toBe(64 * 2 ** 20);
    expect(statSync(file).blocks).toBe(0);
    expect(opened.backing.owned).toBe(false);
    opened.close(true);
    expect(statSync(file).size).toBe(64 * 2 ** 20);
  });

  it("takes an existing file's size when none is given, and refuses another size", () => {
    const file = path.join(scratchDir(), 'disk.img');
    writeFileSync(file, Buffer.alloc(8192));
    const opened = openBacking(file, 0, 0);
    expect(opened.backing.sizeBytes).toBe(8192);
    opened.close(false);
    expect(() => openBacking(file, 4096, 0)).toThrow(
      `${file} is 8192 bytes but the device would be 4096: use --size 8192, or another file`,
    );
  });

  it('names the filesystem that refused to map the file shared, and where to put it instead', () => {
    // The real refusal (a --backing on the VM's 9p share) is in test/boots/systemd.test.ts.
    expect(unmappableStore('/mnt/nfs/disk.img', 'nfs4', 'ENODEV').message).toBe(
      '/mnt/nfs/disk.img is on a filesystem (nfs4) that cannot map a file shared (mmap: ENODEV): put --backing on a local filesystem (ext4, xfs, btrfs, tmpfs), or serve the file with -t loop',
    );
  });

  it("finds a file's filesystem type from the mount table: the deepest mount point above it, the later of two", () => {
    const mountinfo = [
      '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
      '30 22 0:27 / /mnt/my\\040share rw,relatime - 9p project rw,trans=virtio',
      '31 22 0:28 / /mnt/nfs rw - nfs4 server:/export rw',
      '32 31 0:29 / /mnt/nfs rw - tmpfs tmpfs rw',
    ].join('\n');
    expect(filesystemTypeOf('/mnt/my share/disk.img', mountinfo)).toBe('9p');
    expect(filesystemTypeOf('/mnt/my', mountinfo)).toBe('ext4');
    expect(filesystemTypeOf('/mnt/nfs/a/b.img', mountinfo)).toBe('tmpfs');
    expect(filesystemTypeOf('/var/disk.img', mountinfo)).toBe('ext4');
    // This host's own table.
    expect(filesystemTypeOf('/proc/self/status')).toBe('proc');
    expect(filesystemTypeOf('/dev/shm/tsublk-none')).toBe('tmpfs');
  });

  it('refuses a file another device holds, a size its filesystem can never hold, and a missing file without a size', () => {
    const dir = scratchDir();
    const file = path.join(dir, 'disk.img');
    const first = openBacking(file, 4096, 0);
    cleanup.push(() => first.close(false));
    expect(() => openBacking(file, 4096, 1)).toThrow(
      `${file} is in use by another tsublk device: pick another --backing, or delete that device first`,
    );
    expect(() => openBacking(path.join(dir, 'huge.img'), 2 ** 52, 0)).toThrow(/ is more than .* can ever hold \(/);
    expect(() => openBacking(path.join(dir, 'none.img'), 0, 0)).toThrow(
      /does not exist, so it has no size to take: add --size/,
    );
    expect(() => statSync(path.join(dir, 'huge.img'))).toThrow(); // nothing created by a refusal
  });
});

describe('resize (the daemon side of tsublk resize)', () => {
  it('grows the file sparse and shrinks by punching its tail, keeping the data below the end; truncates it at close', () => {
    const file = path.join(scratchDir(), 'disk.img');
    writeFileSync(file, Buffer.alloc(8192, 0x5a));
    const opened = memoryTarget.open!({ sizeBytes: 0, logicalBlockSize: 512, backing: file }, 0, false, {
      queues: 1,
      depth: 4,
    });
    const limit = opened.config.runtime!.limit;
    expect(limit[0]).toBe(8192);
    expect(opened.resize!(65536, false).sizeBytes).toBe(65536);
    expect([statSync(file).size, limit[0]]).toEqual([65536, 65536]);
    expect(opened.resize!(4096, false).sizeBytes).toBe(4096);
    expect(limit[0]).toBe(4096); // the queues fail anything past it with EIO
    // The file keeps its length while queues may still read past the end (no SIGBUS), zeros there.
    const bytes = readFileSync(file);
    expect(bytes.length).toBe(65536);
    expect(bytes.subarray(0, 4096).every((b) => b === 0x5a)).toBe(true);
    expect(bytes.subarray(4096).every((b) => b === 0)).toBe(true);
    expect(() => opened.resize!(2 ** 50, false)).toThrow(/more than this daemon mapped for the store/);
    expect(limit[0]).toBe(4096); // a refused resize changes nothing
    opened.close(false);
    expect(statSync(file).size).toBe(4096);
  });
});

describe('userCopyPosition', () => {
  it('puts a request at its window of /dev/ublkcN: 2^31 + qid << 41 | tag << 25 | offset, exactly', () => {
    expect(userCopyPosition(3, 5, 512)).toBe(UBLKSRV_IO_BUF_OFFSET + 3 * 2 ** 41 + 5 * 2 ** 25 + 512);
    expect(userCopyPosition(4095, 4095, 2 ** 25 - 1)).toBe(0x8000_0000 + 4095 * 2 ** 41 + 4095 * 2 ** 25 + 2 ** 25 - 1);
    expect(Number.isSafeInteger(userCopyPosition(4095, 4095, 2 ** 25 - 1))).toBe(true);
  });
});

describe('the memory target on the copy path (per-tag buffers and the backing file)', () => {
  /** One queue of depth 4 over a backing file, with the loop that feeds completions back. */
  function queue(sizeBytes: number): {
    hw: MemoryQueue;
    rqs: Array<Request<MemoryRequest>>;
    results: Map<number, number>;
    pump: (...tags: number[]) => void;
    file: string;
  } {
    const file = path.join(scratchDir(), 'disk.img');
    const opened = memoryTarget.open!({ sizeBytes, logicalBlockSize: 512, backing: file }, 0, false, {
      queues: 1,
      depth: 4,
    });
    cleanup.push(() => opened.close(false));
    const ring = Ring.create(16);
    cleanup.push(() => ring.close());
    const buffers = new HostMemory(4 * 65536);
    cleanup.push(() => buffers.free());
    const results = new Map<number, number>();
    const completer: RequestCompleter = { completeRequest: (tag, result) => void results.set(tag, result) };
    const ops = memoryTarget.operations;
    const config: MemoryConfig = opened.config;
    const rqs = [0, 1, 2, 3].map(
      (tag) =>
        new Request(
          0,
          tag,
          buffers.bytes.subarray(tag * 65536, (tag + 1) * 65536),
          buffers.address + tag * 65536,
          ops.newRequestData(config, 0, tag),
          completer,
        ),
    );
    const hw = ops.initHctx(
      config,
      0,
      new RingQueueIo(ring, 0, -1, 4, { address: buffers.address, bytesPerTag: 65536 }),
    );
    const pump = (...tags: number[]): void => {
      // Until these requests have ended (their syncs complete through the ring).
      while (tags.some((tag) => !results.has(tag))) {
        ring.submitAndWait(1);
        ring.drainCompletions((userData, result) => {
          const rq = rqs[userDataTag(userData)]!;
          rq.ioResult = result;
          ops.complete!(rq, hw);
        });
      }
    };
    return { hw, rqs, results, pump, file };
  }

  function serve(
    hw: MemoryQueue,
    rq: Request<MemoryRequest>,
    op: number,
    sector: number,
    bytes: number,
    flags = 0,
  ): void {
    rq.op = op;
    rq.flags = flags;
    rq.startSector = sector;
    rq.sectors = bytes / 512;
    memoryTarget.operations.queueRq(hw, undefined, rq, true);
  }

  it('writes (FUA: then fdatasync, linked), reads back, flushes and discards, each ending with the right result', () => {
    const { hw, rqs, results, pump, file } = queue(16 * 2 ** 20);
    const [w, r, f, d] = rqs as [
      Request<MemoryRequest>,
      Request<MemoryRequest>,
      Request<MemoryRequest>,
      Request<MemoryRequest>,
    ];
    for (let i = 0; i < 65536; i++) w.buffer[i] = (i * 7 + 3) & 0xff;
    serve(hw, w, ReqOp.Write, 2048, 65536, ReqFlag.Fua);
    expect(results.has(0)).toBe(!hw.persistent); // on a file, the fdatasync ends it
    pump(0);
    expect(results.get(0)).toBe(65536);
    const onDisk = Buffer.alloc(65536);
    const fd = openSync(file, 'r');
    readSync(fd, onDisk, 0, 65536, 2048 * 512);
    closeSync(fd);
    expect(onDisk.equals(Buffer.from(w.buffer))).toBe(true);

    serve(hw, r, ReqOp.Read, 2048, 65536);
    serve(hw, f, ReqOp.Flush, 0, 0);
    pump(1, 2);
    expect(results.get(1)).toBe(65536);
    expect(Buffer.from(r.buffer).equals(Buffer.from(w.buffer))).toBe(true);
    expect(results.get(2)).toBe(0);

    serve(hw, d, ReqOp.Discard, 2048, 65536);
    expect(results.get(3)).toBe(0); // a hole punched at once
    serve(hw, r, ReqOp.Read, 2048, 65536);
    expect(Buffer.from(r.buffer).every((byte) => byte === 0)).toBe(true);
    expect([hw.writes, hw.reads, hw.flushes, hw.discards, hw.errors]).toEqual([1, 2, 1, 1, 0]);
  });

  it('fails a read past the end of its backing with EIO instead of faulting', () => {
    const { hw, rqs, results } = queue(4096);
    serve(hw, rqs[0]!, ReqOp.Read, 0, 8192); // the kernel never asks this; a shrunken file could
    expect(results.get(0)).toBe(-5);
    expect(hw.errors).toBe(1);
  });
});
