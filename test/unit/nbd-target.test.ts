// The nbd target against real NBD servers on the host (nbdkit, qemu-nbd: .ci/run installs
// them), over a real ring: the handshake, pipelined requests and their replies, and what a user
// sees when the server is missing, wrong or gone. The device side runs in the VM (test/vm/nbd-target).
import { type ChildProcess, spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HostMemory } from '../../native-bindings/host-memory.js';
import { ReqFlag, ReqOp, Request, type RequestCompleter } from '../../src/blk/request.js';
import type { CommonSettings } from '../../src/blk/target-plan.js';
import type { NbdConfig } from '../../src/targets/nbd/config.js';
import { nbdPlanner } from '../../src/targets/nbd/options.js';
import { NBD_FLAG } from '../../src/targets/nbd/protocol.js';
import { type NbdQueue, nbdTarget } from '../../src/targets/nbd/target.js';
import { RingQueueIo } from '../../src/ublk/ring-queue-io.js';
import { UserDataKind, userDataKind, userDataTag } from '../../src/ublk/user-data.js';
import { Ring } from '../../src/uring/ring.js';

const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const undo of cleanup.splice(0).reverse()) undo();
});

const common: CommonSettings = {
  sizeBytes: null,
  logicalBlockSize: 512,
  logicalBlockSizeGiven: false,
  queuesGiven: true,
  queues: 1,
  depth: 8,
  maxIoBufBytes: 524288,
  unprivileged: false,
  recovery: false,
  dataPath: 'auto',
};
const DEPTH = 8;
const TAG_BYTES = 524288;

function scratchDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'tsublk-nbd-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Starts a server in the foreground that listens on `socket`; resolves once it does. */
async function startServer(command: string, args: string[], socket: string): Promise<ChildProcess> {
  const server = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  server.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  cleanup.push(() => server.kill('SIGKILL'));
  for (let waited = 0; !existsSync(socket); waited += 20) {
    if (waited > 10_000 || server.exitCode !== null) throw new Error(`${command} did not start: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return server;
}

/** nbdkit's memory plugin (multi-conn, flush, FUA, trim, zero) on a unix socket. */
async function nbdkit(size = '8M', ...extra: string[]): Promise<{ socket: string; server: ChildProcess }> {
  const socket = path.join(scratchDir(), 'nbdkit.sock');
  const server = await startServer('nbdkit', ['-f', '-U', socket, ...extra, 'memory', size], socket);
  return { socket, server };
}

function plan(values: Record<string, string | number | boolean>, settings: Partial<CommonSettings> = {}): NbdConfig {
  return nbdPlanner.plan(values, { ...common, ...settings }).config as NbdConfig;
}

/** The nbd target's queue 0 on a real ring, its requests made here; pump() serves completions. */
function queue(config: NbdConfig): {
  hw: NbdQueue;
  rqs: Array<Request<undefined>>;
  results: Map<number, number>;
  logged: string[];
  serve: (rq: Request<undefined>, op: number, sector: number, bytes: number, flags?: number) => void;
  pump: (tags: number[], forMs?: number) => void;
} {
  const opened = nbdTarget.open!(config, 0, false, { queues: 1, depth: DEPTH });
  cleanup.push(() => opened.close(true));
  const ring = Ring.create(32);
  const buffers = new HostMemory(DEPTH * TAG_BYTES);
  const results = new Map<number, number>();
  const logged: string[] = [];
  const completer: RequestCompleter = { completeRequest: (tag, result) => void results.set(tag, result) };
  const ops = nbdTarget.operations;
  const rqs = Array.from(
    { length: DEPTH },
    (_, tag) =>
      new Request<undefined>(
        0,
        tag,
        buffers.bytes.subarray(tag * TAG_BYTES, (tag + 1) * TAG_BYTES),
        buffers.address + tag * TAG_BYTES,
        undefined,
        completer,
      ),
  );
  const io = new RingQueueIo(ring, 0, -1, DEPTH, { address: buffers.address, bytesPerTag: TAG_BYTES }, false, (line) =>
    logged.push(line),
  );
  const hw = ops.initHctx(opened.config, 0, io);
  cleanup.push(() => {
    ring.close();
    io.release();
    buffers.free();
  });
  const serve = (rq: Request<undefined>, op: number, sector: number, bytes: number, flags = 0): void => {
    rq.op = op;
    rq.flags = flags;
    rq.startSector = sector;
    rq.sectors = bytes / 512;
    results.delete(rq.tag);
    ops.queueRq(hw, undefined, rq, true);
  };
  // The queue's loop, in short: poll, submit and wait (no longer than poll asks), completions,
  // commitRqs; until the tags have ended or `forMs` has passed.
  const pump = (tags: number[], forMs = 30_000): void => {
    const until = Date.now() + forMs;
    ops.commitRqs!(hw, undefined);
    while (tags.some((tag) => !results.has(tag)) && Date.now() < until) {
      const pollNs = ops.poll!(hw);
      ops.commitRqs!(hw, undefined);
      ring.submitAndWait(1, pollNs < 0 ? 100e6 : Math.min(pollNs, 100e6));
      ring.drainCompletions((userData, result) => {
        expect(userDataKind(userData)).toBe(UserDataKind.TargetStream);
        ops.streamDone!(hw, userDataTag(userData), result);
      });
      ops.commitRqs!(hw, undefined);
    }
  };
  return { hw, rqs, results, logged, serve, pump };
}

describe('the nbd target against nbdkit, over a real ring', () => {
  it("takes the export's size and flags in the handshake, and a connection per queue", async () => {
    const { socket } = await nbdkit('8M');
    const opened = nbdTarget.open!(plan({ unix: socket }), 0, false, { queues: 2, depth: DEPTH });
    cleanup.push(() => opened.close(true));
    const config = opened.config as NbdConfig & { runtime: { fds: number[]; structuredReplies: boolean[] } };
    expect(config.sizeBytes).toBe(8 << 20);
    expect(config.runtime.fds).toHaveLength(2);
    expect(config.runtime.structuredReplies).toEqual([true, true]); // nbdkit agrees to NBD_OPT_STRUCTURED_REPLY
    const flags = config.export?.flags ?? 0;
    for (const flag of [NBD_FLAG.CAN_MULTI_CONN, NBD_FLAG.SEND_FLUSH, NBD_FLAG.SEND_FUA, NBD_FLAG.SEND_TRIM])
      expect(flags & flag).toBe(flag);
    const disk = nbdTarget.disk(config);
    expect(disk).toMatchObject({ sizeBytes: 8 << 20, volatileCache: true, fua: true, readOnly: false });
    expect(disk.discard).toMatchObject({ maxSectors: 2 ** 21, maxWriteZeroesSectors: 2 ** 21 });
  });

  it('pipelines writes of 512 KiB (short writevs continued), reads them back in any order, and flushes, trims and zeroes', async () => {
    const { socket } = await nbdkit('8M');
    const { hw, rqs, results, serve, pump } = queue(plan({ unix: socket }));
    // Eight 512 KiB writes at once: more than a socket buffer, so writev comes back short.
    for (const rq of rqs) {
      for (let i = 0; i < TAG_BYTES; i += 4096) rq.buffer.fill((rq.tag * 31 + i / 4096) & 0xff, i, i + 4096);
      serve(rq, ReqOp.Write, rq.tag * 1024, TAG_BYTES, rq.tag === 3 ? ReqFlag.Fua : 0);
    }
    pump(rqs.map((rq) => rq.tag));
    expect(rqs.map((rq) => results.get(rq.tag))).toEqual(rqs.map(() => TAG_BYTES));
    expect(hw.connection.shortSends).toBeGreaterThan(0);
    // Read each back into another tag's buffer.
    for (const rq of rqs) {
      rq.buffer.fill(0);
      serve(rq, ReqOp.Read, ((rq.tag + 3) % DEPTH) * 1024, TAG_BYTES);
    }
    pump(rqs.map((rq) => rq.tag));
    for (const rq of rqs) {
      const from = (rq.tag + 3) % DEPTH;
      expect(results.get(rq.tag)).toBe(TAG_BYTES);
      expect(rq.buffer[0]).toBe((from * 31) & 0xff);
      expect(rq.buffer[TAG_BYTES - 1]).toBe((from * 31 + 127) & 0xff);
    }
    const [flush, trim, zero, read] = rqs as [
      Request<undefined>,
      Request<undefined>,
      Request<undefined>,
      Request<undefined>,
    ];
    serve(flush, ReqOp.Flush, 0, 0);
    serve(trim, ReqOp.Discard, 0, 65536);
    serve(zero, ReqOp.WriteZeroes, 1024, 4096, ReqFlag.NoUnmap);
    pump([0, 1, 2]);
    expect([results.get(0), results.get(1), results.get(2)]).toEqual([0, 0, 0]);
    serve(read, ReqOp.Read, 0, 65536);
    pump([3]);
    expect(read.buffer.subarray(0, 65536).every((byte) => byte === 0)).toBe(true);
    serve(read, ReqOp.Read, 1024, 8192);
    pump([3]);
    expect(read.buffer.subarray(0, 4096).every((byte) => byte === 0)).toBe(true);
    expect(read.buffer[4096]).toBe((1 * 31 + 1) & 0xff);
  });

  it('reads a sparse image through structured replies: qemu-nbd sends its holes as OFFSET_HOLE chunks, written here as zeros', async () => {
    const dir = scratchDir();
    const image = path.join(dir, 'sparse.img');
    const socket = path.join(dir, 'qemu.sock');
    writeFileSync(image, '');
    truncateSync(image, 8 << 20);
    const data = Buffer.alloc(65536, 0x5c);
    const fd = openSync(image, 'r+');
    writeSync(fd, data, 0, data.length, 1 << 20); // 64 KiB of data at 1 MiB; the rest a hole
    closeSync(fd);
    await startServer('qemu-nbd', ['-k', socket, '-f', 'raw', '-t', image], socket);
    const { hw, rqs, results, serve, pump } = queue(plan({ unix: socket }));
    expect(hw.connection.structuredReplies).toBe(true);
    const rq = rqs[0] as Request<undefined>;
    rq.buffer.fill(0xaa); // what the holes must overwrite
    serve(rq, ReqOp.Read, (768 << 10) / 512, 512 << 10); // [768 KiB, 1280 KiB): hole, data, hole
    pump([0]);
    expect(results.get(0)).toBe(512 << 10);
    expect(
      Buffer.from(rq.buffer.subarray(0, 512 << 10)).equals(readFileSync(image).subarray(768 << 10, 1280 << 10)),
    ).toBe(true);
    expect(hw.connection.holes).toBeGreaterThanOrEqual(2);
  });

  it('keeps simple replies with a server that will not send structured ones (nbdkit --no-sr)', async () => {
    const { socket } = await nbdkit('8M', '--no-sr');
    const { hw, rqs, results, serve, pump } = queue(plan({ unix: socket }));
    expect(hw.connection.structuredReplies).toBe(false);
    const [write, read] = rqs as [Request<undefined>, Request<undefined>];
    write.buffer.fill(0x3e, 0, 8192);
    serve(write, ReqOp.Write, 16, 8192);
    pump([0]);
    read.buffer.fill(0);
    serve(read, ReqOp.Read, 16, 8192);
    pump([1]);
    expect([results.get(0), results.get(1)]).toEqual([8192, 8192]);
    expect(read.buffer.subarray(0, 8192).every((byte) => byte === 0x3e)).toBe(true);
  });

  it("returns the server's errors as the request's (nbdkit's error filter: EIO on reads, ENOSPC on writes while injected), and replies out of order (its delay filter)", async () => {
    const dir = scratchDir();
    const inject = path.join(dir, 'inject');
    const socket = path.join(dir, 'faults.sock');
    await startServer(
      'nbdkit',
      [
        '-f',
        '-U',
        socket,
        '--filter=error',
        '--filter=delay',
        'memory',
        '8M',
        'error-pread=EIO',
        `error-pread-file=${inject}`,
        'error-pwrite=ENOSPC',
        `error-pwrite-file=${inject}`,
        'error-rate=100%',
        'delay-write=400ms',
      ],
      socket,
    );
    const { rqs, results, serve, pump } = queue(plan({ unix: socket }));
    const [write, read] = rqs as [Request<undefined>, Request<undefined>];
    writeFileSync(inject, '');
    serve(read, ReqOp.Read, 0, 4096);
    serve(write, ReqOp.Write, 8, 4096);
    pump([0, 1]);
    expect([results.get(0), results.get(1)]).toEqual([-28, -5]); // ENOSPC, EIO
    rmSync(inject);
    // A slow write sent first, a read after it: the read's reply comes first and ends its request alone.
    serve(write, ReqOp.Write, 8, 4096);
    serve(read, ReqOp.Read, 0, 4096);
    pump([1]);
    expect(results.get(1)).toBe(4096);
    expect(results.has(0)).toBe(false); // the write is still with the server (400 ms)
    pump([0]);
    expect(results.get(0)).toBe(4096);
  });

  it('sends a FUA write with NBD_CMD_FLAG_FUA, and flushes as NBD_CMD_FLUSH (nbdkit log filter)', async () => {
    const dir = scratchDir();
    const socket = path.join(dir, 'log.sock');
    const logFile = path.join(dir, 'nbdkit.log');
    await startServer('nbdkit', ['-f', '-U', socket, '--filter=log', 'memory', '8M', `logfile=${logFile}`], socket);
    const { rqs, results, serve, pump } = queue(plan({ unix: socket }));
    const [fua, plain, flush] = rqs as [Request<undefined>, Request<undefined>, Request<undefined>];
    serve(fua, ReqOp.Write, 8, 4096, ReqFlag.Fua);
    serve(plain, ReqOp.Write, 16, 4096);
    pump([0, 1]);
    serve(flush, ReqOp.Flush, 0, 0);
    pump([2]);
    expect([results.get(0), results.get(1), results.get(2)]).toEqual([4096, 4096, 0]);
    const log = readFileSync(logFile, 'utf8');
    expect(log).toMatch(/Write id=\d+ offset=0x1000 count=0x1000 fua=1 \.\.\./);
    expect(log).toMatch(/Write id=\d+ offset=0x2000 count=0x1000 fua=0 \.\.\./);
    expect(log).toMatch(/Flush id=\d+ \.\.\./);
  });

  it('with --reconnect_timeout 0, fails the requests the server had with EIO when it dies, logs it, and fails new ones at once', async () => {
    const { socket, server } = await nbdkit('8M');
    const { hw, rqs, results, logged, serve, pump } = queue(plan({ unix: socket, reconnect_timeout: 0 }));
    const [first, second] = rqs as [Request<undefined>, Request<undefined>];
    serve(first, ReqOp.Read, 0, 4096);
    pump([0]);
    expect(results.get(0)).toBe(4096);
    server.kill('SIGKILL');
    await new Promise((resolve) => server.once('exit', resolve));
    serve(second, ReqOp.Read, 0, 4096);
    pump([1]);
    expect(results.get(1)).toBe(-5);
    expect(logged).toEqual([
      expect.stringMatching(
        /^nbd: the connection to unix socket \S+ failed: .*; [01] request\(s\) failed with EIO, and new ones do until del$/,
      ),
    ]);
    serve(first, ReqOp.Write, 0, 4096);
    expect(results.get(0)).toBe(-5); // at once: the connection is known to be gone
    expect(hw.connectionErrors).toBe(1);
  });

  it('holds the requests of a lost connection, reconnects when the server is back, and sends them again', async () => {
    const dir = scratchDir();
    const file = path.join(dir, 'disk.img');
    writeFileSync(file, Buffer.alloc(4 << 20, 0x5a));
    const socket = path.join(dir, 'file.sock');
    const fileServer = (): Promise<ChildProcess> =>
      startServer('nbdkit', ['-f', '-U', socket, 'file', `file=${file}`], socket);
    const server = await fileServer();
    const { hw, rqs, results, logged, serve, pump } = queue(plan({ unix: socket }));
    const [write, read, other] = rqs as [Request<undefined>, Request<undefined>, Request<undefined>];
    write.buffer.fill(0xa5, 0, 8192);
    serve(write, ReqOp.Write, 16, 8192);
    pump([0]);
    expect(results.get(0)).toBe(8192);
    server.kill('SIGKILL');
    await new Promise((resolve) => server.once('exit', resolve));
    rmSync(socket, { force: true });
    // Lost while these wait: held, not failed.
    serve(read, ReqOp.Read, 16, 8192);
    serve(other, ReqOp.Read, 0, 4096);
    pump([1, 2], 700);
    expect(results.has(1) || results.has(2)).toBe(false);
    expect(logged[0]).toMatch(
      /^nbd: the connection to unix socket \S+ failed: .*; holding its [0-2] request\(s\) while reconnecting, for up to 30 s$/,
    );
    await fileServer();
    pump([1, 2]);
    expect([results.get(1), results.get(2)]).toEqual([8192, 4096]);
    expect(read.buffer.subarray(0, 8192).every((byte) => byte === 0xa5)).toBe(true);
    expect(other.buffer.subarray(0, 4096).every((byte) => byte === 0x5a)).toBe(true);
    expect(logged[1]).toMatch(/^nbd: reconnected to unix socket \S+ after \d+\.\d s; 2 request\(s\) sent again$/);
    expect([hw.connection.losses, hw.connection.reconnects]).toEqual([1, 1]);
  });

  it('gives up after --reconnect_timeout: the held requests fail with EIO, with the last error in the log', async () => {
    const { socket, server } = await nbdkit('8M');
    const { rqs, results, logged, serve, pump } = queue(plan({ unix: socket, reconnect_timeout: 1 }));
    server.kill('SIGKILL');
    await new Promise((resolve) => server.once('exit', resolve));
    const started = Date.now();
    serve(rqs[0]!, ReqOp.Read, 0, 4096);
    pump([0]);
    expect(results.get(0)).toBe(-5);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900); // held for the timeout first
    expect(logged.at(-1)).toMatch(
      /^nbd: the connection to unix socket \S+ failed: no connection in 1 s \(last: nbd: cannot connect to .*\); 1 request\(s\) failed with EIO, and new ones do until del$/,
    );
  });
});

describe('nbd add refusals, one line each', () => {
  it('names what is missing or contradictory in the options', () => {
    expect(() => plan({})).toThrow(
      /^the nbd target serves an NBD export: add --host HOST \[--port N\] or --unix PATH$/,
    );
    expect(() => plan({ host: 'a', unix: '/b' })).toThrow(/^give the nbd target --host or --unix, not both$/);
    expect(() => plan({ host: 'a' }, { sizeBytes: 4096 })).toThrow(/leave out --size/);
    expect(() => plan({ unix: '/b', port: 1 })).toThrow(/^--port goes with --host, not --unix: leave it out$/);
    expect(plan({ host: 'nbd.example' }).endpoint).toEqual({ kind: 'tcp', host: 'nbd.example', ip: '', port: 10809 });
    // One queue, one connection, unless -q asks for more.
    expect(nbdPlanner.plan({ host: 'a' }, { ...common, queuesGiven: false }).queues).toBe(1);
    expect(nbdPlanner.plan({ host: 'a' }, { ...common, queues: 4 }).queues).toBeUndefined();
  });

  it('a server that is not there, not NBD, or without the export; an export without multi-conn for 2 queues; an unknown host', async () => {
    const dir = scratchDir();
    const open =
      (values: Record<string, string | number>, queues = 1): (() => void) =>
      () =>
        nbdTarget.open!(plan(values), 0, false, { queues, depth: DEPTH }).close(true);
    expect(open({ unix: path.join(dir, 'none.sock') })).toThrow(
      /^nbd: cannot connect to unix socket .*none\.sock \(ENOENT\): is the NBD server running there\? \(--unix\)$/,
    );
    // A server that greets with something else.
    const other = path.join(dir, 'other.sock');
    await startServer(
      process.execPath,
      ['-e', `require('net').createServer((s) => s.end('HELLO, THIS IS NOT NBD')).listen(${JSON.stringify(other)})`],
      other,
    );
    expect(open({ unix: other })).toThrow(
      /^nbd: unix socket .*other\.sock is not an NBD server \(no NBDMAGIC greeting\)$/,
    );
    // qemu-nbd with one named export, one client at a time (-e 1, its default): no multi-conn.
    const image = path.join(dir, 'disk.raw');
    writeFileSync(image, '');
    truncateSync(image, 4 << 20);
    const qemuSocket = path.join(dir, 'qemu.sock');
    await startServer('qemu-nbd', ['-k', qemuSocket, '-x', 'right', '-f', 'raw', '-t', image], qemuSocket);
    expect(open({ unix: qemuSocket, export_name: 'wrong' })).toThrow(
      /^nbd: unix socket .*qemu\.sock export "wrong": the server has no such export \(NBD_REP_ERR_UNKNOWN\) \(".*"\): check --export_name$/,
    );
    expect(open({ unix: qemuSocket, export_name: 'right' }, 2)).toThrow(
      /^nbd: unix socket .*qemu\.sock does not let clients share the export over several connections \(no NBD_FLAG_CAN_MULTI_CONN\): add with -q 1/,
    );
    expect(open({ unix: qemuSocket, export_name: 'right' })).not.toThrow();
    expect(open({ host: 'no-such-host.invalid' })).toThrow(
      /^nbd: cannot resolve --host no-such-host\.invalid: check the name, or give an address$/,
    );
  });
});
