// The loop target: a file on ext4, or a block device, behind /dev/ublkbN, under real tools.
// brd gives both: ram0 carries the ext4 that holds the image files, ram1 is served raw.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { addLoop, image, makeImage, useLoopDisk } from './loop-disk.js';
import {
  type DeviceIds,
  cleanUp,
  expectKillAndRecoverKeepsWrites,
  kernelFeatures,
  listedDevice,
  ok,
  okAsync,
  run,
  tsublk,
  tsublkAsync,
} from './cli.js';

const ids: DeviceIds = { first: 100, last: 109 };
useLoopDisk(ids);

interface FioJob {
  error: number;
  read: { io_bytes: number };
  write: { io_bytes: number };
}

/** fio's arguments for fioVerify. */
function fioVerifyArgs(device: string, jobs: number, span: string): string[] {
  return [
    `--filename=${device}`,
    '--ioengine=io_uring',
    '--direct=1',
    '--iodepth=32',
    `--numjobs=${jobs}`,
    '--rw=randwrite',
    `--size=${span}`,
    `--offset_increment=${span}`,
    '--verify=crc32c',
    '--do_verify=1',
    '--verify_fatal=1',
    '--output-format=json',
    '--name=bs4k',
    '--bs=4k',
    '--io_size=8M',
    '--stonewall',
    '--name=bssplit',
    '--bssplit=4k/50:64k/30:1M/20',
    '--io_size=16M',
    '--stonewall',
  ];
}

function fioJobs(output: string): FioJob[] {
  return (JSON.parse(output.slice(output.indexOf('{'))) as { jobs: FioJob[] }).jobs;
}

/** Random writes and a verify pass (crc32c in every block), QD32, `jobs` jobs on disjoint ranges, 4k then mixed sizes. */
function fioVerify(device: string, jobs: number, span: string): FioJob[] {
  const result = run('fio', fioVerifyArgs(device, jobs, span), { timeoutMs: 300_000 });
  if (result.status !== 0) throw new Error(`fio exited ${result.status}: ${result.stderr.trim()}`);
  return fioJobs(result.stdout);
}

function expectVerified(jobs: FioJob[]): void {
  expect(jobs.length).toBeGreaterThan(0);
  for (const job of jobs) {
    expect(job.error).toBe(0);
    expect(job.write.io_bytes).toBeGreaterThan(0);
    expect(job.read.io_bytes).toBe(job.write.io_bytes); // the verify pass read back all it wrote
  }
}

/** Whether the guest kernel has AUTO_BUF_REG (6.16), and the branch each zero-copy test takes, by name. */
const zeroCopyKernel = kernelFeatures();
const hasZeroCopy = zeroCopyKernel.names.includes('AUTO_BUF_REG');
const zeroCopyBranch = hasZeroCopy
  ? `${zeroCopyKernel.kernel} has AUTO_BUF_REG`
  : `${zeroCopyKernel.kernel} lacks AUTO_BUF_REG: refused by name`;

/** add -z where the kernel lacks AUTO_BUF_REG: one line naming it and its release, nothing left behind. */
function expectZeroCopyRefused(...args: string[]): void {
  const refused = tsublk('add', '-t', 'loop', '-z', ...args);
  expect(refused.status).not.toBe(0);
  expect(refused.stderr.trim()).toMatch(
    /^tsublk: this kernel \(.*\) lacks UBLK_F_AUTO_BUF_REG, which Linux 6\.16 brought: /,
  );
  expect(refused.stderr.trim().split('\n')).toHaveLength(1);
}

const hasBatchIo = zeroCopyKernel.names.includes('BATCH_IO');
const batchBranch = hasBatchIo
  ? `${zeroCopyKernel.kernel} has BATCH_IO`
  : `${zeroCopyKernel.kernel} lacks BATCH_IO: refused by name`;

interface Listed {
  data_path: string;
  io_commands: string;
  target: { config: Record<string, unknown> };
  stats: Array<Record<string, number>>;
}

/** The sum of one of the target's counters over the device's queues (list -v). */
/** A counter summed over the queues of a `list -v` answer (one CLI run serves several counters: ~1 s each under TCG). */
function sum(listed: Listed | undefined, name: string): number {
  return (listed?.stats ?? []).reduce((total, queue) => total + (queue[name] ?? 0), 0);
}

function counter(devId: number, name: string): number {
  return sum(listedDevice<Listed>(devId, '-v'), name);
}

describe('tsublk add -t loop', () => {
  // Two queues on the file, one on the block device: both queue counts and both backings, in two fio runs.
  it.each([2])(
    'keeps every byte of a file on ext4 (O_DIRECT, --copy: the per-tag buffers, fixed): fio crc32c verify, %i queues',
    (queues) => {
      makeImage(128);
      addLoop('-f', image, '--copy', '-q', String(queues), '-n', '100');
      const listed = listedDevice<Listed>(100, '-v');
      expect(listed?.data_path).toBe('copy');
      expect(listed?.target.config).toMatchObject({
        file: image,
        sizeBytes: 128 * 2 ** 20,
        directIo: true,
        blockDevice: false,
        discard: true,
        logicalBlockSize: 512,
      });
      expectVerified(fioVerify('/dev/ublkb100', queues, `${64 / queues}M`));
      const after = listedDevice<Listed>(100, '-v');
      expect(sum(after, 'fixed_buffers')).toBe(queues);
      expect(sum(after, 'errors')).toBe(0);
    },
  );

  it(`serves by zero copy with -z (the kernel registers each request's pages; READ_FIXED/WRITE_FIXED): fio crc32c verify, 1, 2 and 4 queues (${zeroCopyBranch})`, async () => {
    // A device per queue count (-n 100, 101, 102), each on its own image, all at once: added side by
    // side and verified by three fio runs together (the guest's two CPUs share them).
    const queueCounts = [1, 2, 4];
    const images = queueCounts.map((queues) => (queues === 1 ? image : `${image}.${queues}q`));
    try {
      for (const file of images) makeImage(96, file);
      if (!hasZeroCopy) {
        for (const [at, queues] of queueCounts.entries())
          expectZeroCopyRefused('-f', images[at] ?? image, '-q', String(queues), '-n', String(ids.first + at));
        return;
      }
      const added = await Promise.all(
        queueCounts.map((queues, at) =>
          tsublkAsync(
            'add',
            '-t',
            'loop',
            '-f',
            images[at] ?? image,
            '-z',
            '-q',
            String(queues),
            '-n',
            String(ids.first + at),
          ),
        ),
      );
      expect(added.map((result) => [result.status, result.stderr])).toEqual(queueCounts.map(() => [0, '']));
      for (const at of queueCounts.keys())
        expect(listedDevice<Listed>(ids.first + at, '-v')?.data_path).toBe('zerocopy');
      const outputs = await Promise.all(
        queueCounts.map((queues, at) =>
          okAsync('fio', ...fioVerifyArgs(`/dev/ublkb${ids.first + at}`, queues, `${64 / queues}M`)),
        ),
      );
      for (const output of outputs) expectVerified(fioJobs(output));
      for (const at of queueCounts.keys()) {
        const after = listedDevice<Listed>(ids.first + at, '-v');
        expect(sum(after, 'errors')).toBe(0);
        expect(sum(after, 'writes')).toBeGreaterThan(0);
      }
    } finally {
      cleanUp(ids); // the devices, before their images go
      for (const file of images) rmSync(file, { force: true });
    }
  });

  it(`zero copy comes back after kill -9 with -i 1 and recover: reissued I/O, every acknowledged write intact (${zeroCopyBranch})`, async () => {
    makeImage(64);
    if (!hasZeroCopy) {
      expectZeroCopyRefused('-f', image, '-n', '104', '-i', '1');
      return;
    }
    addLoop('-f', image, '-z', '-n', '104', '-i', '1');
    await expectKillAndRecoverKeepsWrites(104);
    expect(listedDevice<Listed>(104, '-v')?.data_path).toBe('zerocopy');
    expectVerified(fioVerify('/dev/ublkb104', 1, '32M'));
  });

  it(`batch I/O (-b) with zero copy: fio crc32c verify on 2 queues, then kill -9 with -i 1 and recover keeps every acknowledged write (${batchBranch})`, async () => {
    makeImage(64);
    if (!hasBatchIo) {
      const refused = tsublk('add', '-t', 'loop', '-f', image, '-b', '-n', '105');
      expect(refused.status).not.toBe(0);
      expect(refused.stderr.trim()).toMatch(
        /^tsublk: this kernel \(.*\) lacks UBLK_F_BATCH_IO, which Linux 7\.0 brought: [^\n]+$/,
      );
      return;
    }
    addLoop('-f', image, '-b', '-q', '2', '-n', '105', '-i', '1');
    const listed = listedDevice<Listed>(105, '-v');
    expect(listed?.io_commands).toBe('batch');
    expect(listed?.data_path).toBe('zerocopy');
    expectVerified(fioVerify('/dev/ublkb105', 2, '16M'));
    await expectKillAndRecoverKeepsWrites(105);
    expectVerified(fioVerify('/dev/ublkb105', 2, '16M'));
    const after = listedDevice<Listed>(105, '-v'); // the recovered daemon's
    expect(after?.io_commands).toBe('batch');
    expect(sum(after, 'errors')).toBe(0);
  });

  it(`keeps every byte of a block device (brd), taking its size, on one queue, by the default data path (${hasZeroCopy ? 'zero copy' : 'copy'})`, () => {
    addLoop('-f', '/dev/ram1', '-q', '1', '-n', '101');
    const listed = listedDevice<Listed>(101, '-v');
    expect(listed?.data_path).toBe(hasZeroCopy ? 'zerocopy' : 'copy');
    expect(listed?.target.config).toMatchObject({
      file: '/dev/ram1',
      sizeBytes: 256 * 2 ** 20,
      blockDevice: true,
      directIo: true,
    });
    expectVerified(fioVerify('/dev/ublkb101', 1, '64M'));
    expect(counter(101, 'fixed_buffers')).toBe(1);
  });

  it('carries an ext4 of its own: files survive sync, unmount, fsck and a second mount (sha256)', () => {
    makeImage(128);
    addLoop('-f', image, '-n', '102', '--buffered_io');
    expect(listedDevice<Listed>(102, '-v')?.target.config).toMatchObject({ directIo: false, bufferedIo: true });
    const mountPoint = '/mnt/tsublk-loop-inner';
    ok('mkfs.ext4', '-q', '-F', '/dev/ublkb102');
    mkdirSync(mountPoint, { recursive: true });
    ok('mount', '/dev/ublkb102', mountPoint);
    try {
      ok('sh', '-c', `for i in 1 2 3 4 5; do head -c 4194304 /dev/urandom > ${mountPoint}/f$i; done; sync`);
      const sums = ok('sh', '-c', `cd ${mountPoint} && sha256sum f*`);
      ok('umount', mountPoint);
      const check = run('fsck.ext4', ['-fn', '/dev/ublkb102']);
      expect(check.status).toBe(0);
      ok('mount', '/dev/ublkb102', mountPoint);
      expect(ok('sh', '-c', `cd ${mountPoint} && sha256sum f*`)).toBe(sums);
    } finally {
      run('umount', [mountPoint]);
    }
  });

  it('comes back after kill -9 with -r 1 and recover, every acknowledged write intact', async () => {
    makeImage(64);
    addLoop('-f', image, '-n', '103', '-r', '1');
    await expectKillAndRecoverKeepsWrites(103);
  });

  it('puts a FUA write on the backing file before it acknowledges it, and discard punches holes', () => {
    makeImage(64);
    addLoop('-f', image, '-n', '104');
    const block = randomBytes(4096);
    writeFileSync('/tmp/tsublk-loop-block', block);
    // O_DSYNC on a disk with a write cache and FUA: the kernel sends the write with FUA.
    ok('dd', 'if=/tmp/tsublk-loop-block', 'of=/dev/ublkb104', 'bs=4k', 'seek=100', 'oflag=direct,dsync', 'status=none');
    expect(counter(104, 'fua_writes')).toBeGreaterThanOrEqual(1);
    // From outside the device, past any cache: the image holds it.
    ok('dd', `if=${image}`, 'of=/tmp/tsublk-loop-range', 'bs=4k', 'skip=100', 'count=1', 'iflag=direct', 'status=none');
    expect(readFileSync('/tmp/tsublk-loop-range').equals(block)).toBe(true);
    rmSync('/tmp/tsublk-loop-range');
    rmSync('/tmp/tsublk-loop-block');
    ok('dd', 'if=/dev/urandom', 'of=/dev/ublkb104', 'bs=1M', 'count=32', 'oflag=direct', 'status=none');
    expect(statSync(image).blocks * 512).toBeGreaterThanOrEqual(32 * 2 ** 20);
    ok('blkdiscard', '/dev/ublkb104');
    expect(statSync(image).blocks * 512).toBeLessThan(2 ** 20);
  });

  it('serves --read_only as a read-only disk', () => {
    makeImage(16);
    addLoop('-f', image, '-n', '105', '--read_only');
    expect(ok('blockdev', '--getro', '/dev/ublkb105').trim()).toBe('1');
    expect(run('dd', ['if=/dev/zero', 'of=/dev/ublkb105', 'bs=4k', 'count=1', 'oflag=direct']).status).not.toBe(0);
    ok('dd', 'if=/dev/ublkb105', 'of=/dev/null', 'bs=4k', 'count=16', 'iflag=direct', 'status=none');
  });
});
