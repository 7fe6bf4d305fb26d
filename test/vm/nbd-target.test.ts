// The nbd target: exports of real NBD servers started in the guest (nbdkit, qemu-nbd) behind
// /dev/ublkbN, under fio, mkfs and blkdiscard; and what a user sees when the server is missing,
// wrong, read-only or dies.
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type DeviceIds,
  cleanUp,
  fioWriteVerify,
  kernelFeatures,
  leftovers,
  listedDevice,
  listening,
  nothingLeft,
  ok,
  run,
  startListening,
  submitterCpus,
  tsublk,
} from './cli.js';

const ids: DeviceIds = { first: 120, last: 129 };
const dir = '/dev/shm/tsublk-nbd'; // tmpfs: images with holes, quickly
/** Where the kernel registers requests' pages in the ring (AUTO_BUF_REG, 6.16), nbd sends and receives by zero copy. */
const dataPath = kernelFeatures().names.includes('AUTO_BUF_REG') ? 'zerocopy' : 'copy';
const servers: ChildProcess[] = [];
/** A server in the foreground, killed after the test. */
const startServer = (command: string, args: string[], ready: () => boolean): Promise<ChildProcess> =>
  startListening(command, args, ready, servers);

beforeAll(() => mkdirSync(dir, { recursive: true }));

afterEach(() => {
  cleanUp(ids);
  for (const server of servers.splice(0)) server.kill('SIGKILL');
  expect(leftovers(ids)).toEqual(nothingLeft);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function add(...args: string[]): void {
  const result = tsublk('add', '-t', 'nbd', ...args);
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
}

/** An image's allocated bytes (st_blocks). */
function allocated(file: string): number {
  return statSync(file).blocks * 512;
}

describe(`the nbd target (${dataPath} data path)`, () => {
  it('serves an nbdkit export over TCP with 2 queues: fio write+verify runs through a server restart (held, reconnected, sent again); a server gone for good fails I/O with EIO after --reconnect_timeout', async () => {
    const image = `${dir}/nbdkit.img`;
    ok('truncate', '-s', '256M', image);
    const nbdkit = (): Promise<ChildProcess> =>
      startServer('nbdkit', ['-f', '--port', '10809', 'file', `file=${image}`], () => listening(10809));
    let server = await nbdkit();
    add('-n', '120', '--host', '127.0.0.1', '-q', '2', '--reconnect_timeout', '5');
    expect(ok('blockdev', '--getsize64', '/dev/ublkb120').trim()).toBe(String(256 * 2 ** 20));
    // Placement auto (nbd's default): a queue that is not spinning waits on its submitters' CPUs
    // (blk-mq's map in sysfs; beside would be the other CPU of this 2-CPU guest), where list finds it.
    expect(listedDevice<{ data_path: string }>(120, '-v')?.data_path).toBe(dataPath);
    const listed = tsublk('list', '-n', '120').stdout;
    for (const queue of [0, 1]) {
      const submitters = submitterCpus(120, queue).join(' ');
      expect(submitters).toMatch(/^\d$/);
      expect(listed).toMatch(new RegExp(`queue ${queue}: tid \\d+ affinity\\(${submitters} \\)`));
    }
    const fio = fioWriteVerify('/dev/ublkb120', { size: '8M', iodepth: 16, rate_iops: 800 });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    server.kill('SIGKILL'); // mid-write: its requests are held…
    await new Promise((resolve) => setTimeout(resolve, 500));
    server = await nbdkit(); // …and sent again once it is back
    const verified = await fio;
    expect(verified.status).toBe(0);
    expect(verified.job?.error).toBe(0);
    expect(verified.job?.write.io_bytes).toBe(8 * 2 ** 20);
    const log = readFileSync('/run/tsublk/120.log', 'utf8');
    expect(log).toMatch(
      /nbd: the connection to 127\.0\.0\.1:10809 failed: .*; holding its \d+ request\(s\) while reconnecting, for up to 5 s/,
    );
    expect(log).toMatch(/nbd: reconnected to 127\.0\.0\.1:10809 after \d+\.\d s; \d+ request\(s\) sent again/);
    const stats = JSON.parse(tsublk('stats', '-n', '120', '--json').stdout) as {
      queues: Array<Record<string, number>>;
    };
    expect(stats.queues.every((queue) => (queue['writes'] ?? 0) > 0)).toBe(true); // a connection each
    expect(stats.queues.reduce((sum, queue) => sum + (queue['reconnects'] ?? 0), 0)).toBeGreaterThanOrEqual(1);

    server.kill('SIGKILL'); // for good
    const read = run('dd', ['if=/dev/ublkb120', 'of=/dev/null', 'bs=4k', 'count=1', 'iflag=direct'], {
      timeoutMs: 30_000,
    });
    expect(read.status).not.toBe(0);
    expect(read.stderr).toMatch(/Input\/output error/);
    expect(readFileSync('/run/tsublk/120.log', 'utf8')).toMatch(
      /nbd: the connection to 127\.0\.0\.1:10809 failed: no connection in 5 s \(last: .*ECONNREFUSED.*\); \d+ request\(s\) failed with EIO, and new ones do until del/,
    );
    expect(tsublk('del', '-n', '120').status).toBe(0);
  });

  it('serves qemu-nbd exports over a unix socket: an ext4 on qcow2 keeps its files (sha256), a raw image gets discards (it shrinks) and fio verifies on 1 queue', async () => {
    const qcow2 = `${dir}/disk.qcow2`;
    ok('qemu-img', 'create', '-q', '-f', 'qcow2', qcow2, '128M');
    const qcowSocket = `${dir}/qcow2.sock`;
    await startServer('qemu-nbd', ['-k', qcowSocket, '-f', 'qcow2', '-t', qcow2], () => existsSync(qcowSocket));
    add('-n', '121', '--unix', qcowSocket);
    // -q left out: one queue, one connection (qemu-nbd -e 1 takes one client at a time).
    expect(listedDevice<{ nr_hw_queues: number }>(121)?.nr_hw_queues).toBe(1);
    ok('mkfs.ext4', '-q', '/dev/ublkb121');
    const mountPoint = `${dir}/mnt`;
    mkdirSync(mountPoint, { recursive: true });
    ok('mount', '/dev/ublkb121', mountPoint);
    ok('dd', 'if=/dev/urandom', `of=${mountPoint}/f1`, 'bs=1M', 'count=8', 'status=none');
    const sums = ok('sha256sum', `${mountPoint}/f1`);
    ok('umount', mountPoint);
    ok('mount', '/dev/ublkb121', mountPoint);
    expect(ok('sha256sum', `${mountPoint}/f1`)).toBe(sums);
    ok('umount', mountPoint);
    // qemu-nbd's structured replies name unwritten ranges as holes: zeros the target writes itself.
    const qcowStats = JSON.parse(tsublk('stats', '-n', '121', '--json').stdout) as {
      queues: Array<Record<string, number>>;
    };
    expect(qcowStats.queues[0]?.['read_holes']).toBeGreaterThan(0);

    const raw = `${dir}/disk.raw`;
    ok('truncate', '-s', '64M', raw);
    const rawSocket = `${dir}/raw.sock`;
    await startServer('qemu-nbd', ['-k', rawSocket, '-f', 'raw', '-t', '--discard=unmap', raw], () =>
      existsSync(rawSocket),
    );
    add('-n', '122', '--unix', rawSocket);
    const verified = await fioWriteVerify('/dev/ublkb122', { size: '16M', iodepth: 8 });
    expect(verified.status).toBe(0);
    expect(verified.job?.error).toBe(0);
    const written = allocated(raw);
    expect(written).toBeGreaterThanOrEqual(16 * 2 ** 20);
    ok('blkdiscard', '/dev/ublkb122');
    expect(allocated(raw)).toBeLessThan(written / 4);
  });

  it("mounts an ext4 image that a web server holds, read-only, through nbdkit's curl plugin (the README's network disk)", async () => {
    const files = `${dir}/files`;
    const web = `${dir}/web`;
    mkdirSync(files, { recursive: true });
    mkdirSync(web, { recursive: true });
    ok('dd', 'if=/dev/urandom', `of=${files}/data`, 'bs=1M', 'count=4', 'status=none');
    ok('mkfs.ext4', '-q', '-d', files, `${web}/disk.img`, '32M');
    // A web server that answers range requests: busybox's httpd.
    await startServer('busybox', ['httpd', '-f', '-p', '127.0.0.1:8080', '-h', web], () => listening(8080));
    await startServer('nbdkit', ['-f', '-r', '--port', '10812', 'curl', 'url=http://127.0.0.1:8080/disk.img'], () =>
      listening(10812),
    );
    add('-n', '125', '--host', '127.0.0.1', '--port', '10812', '--read_only');
    const mountPoint = `${dir}/web-mnt`;
    mkdirSync(mountPoint, { recursive: true });
    ok('mount', '-o', 'ro', '/dev/ublkb125', mountPoint);
    try {
      expect(ok('sha256sum', '-b', `${mountPoint}/data`).split(' ')[0]).toBe(
        ok('sha256sum', '-b', `${files}/data`).split(' ')[0],
      );
    } finally {
      run('umount', [mountPoint]);
    }
  });

  it('continues writes the socket takes in part: with a small send buffer (tcp_wmem), 128k writes at depth 16 verify, and stats count the short sends', async () => {
    const wmem = readFileSync('/proc/sys/net/ipv4/tcp_wmem', 'utf8').trim().split(/\s+/).join(' ');
    ok('sysctl', '-qw', 'net.ipv4.tcp_wmem=4096 8192 16384'); // sockets made from now on
    try {
      await startServer('nbdkit', ['-f', '--port', '10813', 'memory', '64M'], () => listening(10813));
      add('-n', '126', '--host', '127.0.0.1', '--port', '10813');
    } finally {
      ok('sysctl', '-qw', `net.ipv4.tcp_wmem=${wmem}`);
    }
    const verified = await fioWriteVerify('/dev/ublkb126', { size: '16M', bs: '128k', iodepth: 16 });
    expect(verified.status).toBe(0);
    expect(verified.job?.error).toBe(0);
    const stats = JSON.parse(tsublk('stats', '-n', '126', '--json').stdout) as {
      queues: Array<Record<string, number>>;
    };
    expect(stats.queues[0]?.['short_sends']).toBeGreaterThan(0);
  });

  it('a read-only export is a read-only disk', async () => {
    const raw = `${dir}/ro.raw`;
    ok('truncate', '-s', '16M', raw);
    const socket = `${dir}/ro.sock`;
    await startServer('qemu-nbd', ['-k', socket, '-f', 'raw', '-t', '-r', raw], () => existsSync(socket));
    add('-n', '123', '--unix', socket);
    expect(ok('blockdev', '--getro', '/dev/ublkb123').trim()).toBe('1');
    const write = run('dd', ['if=/dev/zero', 'of=/dev/ublkb123', 'bs=4k', 'count=1', 'oflag=direct']);
    expect(write.status).not.toBe(0);
    expect(write.stderr).toMatch(/Operation not permitted|Read-only file system/);
  });

  // The handshake's other refusals (not NBD, an unknown export…) are unit tests against real servers.
  it('refuses in one line, leaving nothing: no server there, an export without multi-conn for 2 queues', async () => {
    const refused = tsublk('add', '-t', 'nbd', '-n', '124', '--host', '127.0.0.1', '--port', '1');
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toBe(
      'tsublk: nbd: cannot connect to 127.0.0.1:1 (ECONNREFUSED): is the NBD server running there? (--host/--port)\n',
    );
    const raw = `${dir}/named.raw`;
    ok('truncate', '-s', '16M', raw);
    const socket = `${dir}/named.sock`;
    await startServer('qemu-nbd', ['-k', socket, '-x', 'disk', '-f', 'raw', '-t', raw], () => existsSync(socket));
    const shared = tsublk('add', '-t', 'nbd', '-n', '124', '--unix', socket, '--export_name', 'disk', '-q', '2');
    expect(shared.status).not.toBe(0);
    expect(shared.stderr).toMatch(/no NBD_FLAG_CAN_MULTI_CONN\): add with -q 1/);
    expect(shared.stderr.trim().split('\n')).toHaveLength(1);
  });
});
