// The memory target: a RAM disk that keeps every byte, on both data paths, under real tools.
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  rmSync,
  statSync,
} from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { type DeviceIds, cleanUp, leftovers, nothingLeft, ok, owns, run, tsublk, tsublkAsync } from './cli.js';

const ids: DeviceIds = { first: 110, last: 119 };

afterEach(() => {
  cleanUp(ids);
  expect(leftovers(ids)).toEqual(nothingLeft);
  // The backings tsublk made (/dev/shm/tsublk-<id>) went with their devices.
  expect(readdirSync('/dev/shm').filter((name) => /^tsublk-\d+/.test(name) && owns(ids, name))).toEqual([]);
});

/** Bytes of memory or disk a file really uses (st_blocks), not its apparent size. */
function allocated(file: string): number {
  return statSync(file).blocks * 512;
}

function add(...args: string[]): void {
  const result = tsublk('add', '-t', 'memory', ...args);
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
}

interface FioJob {
  jobname: string;
  error: number;
  read: { io_bytes: number };
  write: { io_bytes: number };
}

/** fio's jobs from its JSON output (fio may print warnings before it). */
function fioJobs(output: string): FioJob[] {
  return (JSON.parse(output.slice(output.indexOf('{'))) as { jobs: FioJob[] }).jobs;
}

/**
 * Random writes then a verify pass (crc32c in every block), 2 jobs at QD32 on disjoint halves,
 * for 4k, 64k, 1M and a mixed split, one after the other.
 */
function fioVerify(device: string): FioJob[] {
  const shapes: Array<[string, string, string]> = [
    ['bs4k', '--bs=4k', '6M'],
    ['bs64k', '--bs=64k', '12M'],
    ['bs1m', '--bs=1M', '24M'],
    ['bssplit', '--bssplit=4k/50:64k/30:1M/20', '12M'],
  ];
  const args = [
    `--filename=${device}`,
    '--ioengine=io_uring',
    '--direct=1',
    '--iodepth=32',
    '--numjobs=2',
    '--rw=randwrite',
    '--size=512M',
    '--offset_increment=512M',
    '--verify=crc32c',
    '--do_verify=1',
    '--verify_fatal=1',
    '--output-format=json',
  ];
  for (const [name, bs, ioSize] of shapes) args.push(`--name=${name}`, bs, `--io_size=${ioSize}`, '--stonewall');
  const result = run('fio', args, { timeoutMs: 300_000 });
  if (result.status !== 0) throw new Error(`fio exited ${result.status}: ${result.stderr.trim()}`);
  return fioJobs(result.stdout);
}

describe.each([['--usercopy'], ['--copy']])('tsublk add -t memory %s', (dataPath) => {
  it('keeps every byte: fio writes with crc32c and verifies them, 4k/64k/1M/mixed, QD32, 2 jobs', () => {
    add('--size', '1G', '-n', '110', dataPath);
    const record = JSON.parse(ok('cat', '/run/tsublk/110.json')) as {
      dataPath: string;
      target: { config: Record<string, unknown> };
    };
    expect(record.dataPath).toBe(dataPath.slice(2));
    expect(record.target.config).toEqual({
      sizeBytes: 2 ** 30,
      logicalBlockSize: 512,
      backing: '/dev/shm/tsublk-110',
      ownsBacking: true,
      persistent: false,
    });
    const jobs = fioVerify('/dev/ublkb110');
    expect(jobs.map((job) => job.jobname)).toEqual([
      'bs4k',
      'bs4k',
      'bs64k',
      'bs64k',
      'bs1m',
      'bs1m',
      'bssplit',
      'bssplit',
    ]);
    for (const job of jobs) {
      expect(job.error).toBe(0);
      expect(job.write.io_bytes).toBeGreaterThan(0);
      expect(job.read.io_bytes).toBe(job.write.io_bytes); // the verify pass read back all it wrote
    }
    expect(tsublk('del', '-n', '110').status).toBe(0);
    expect(existsSync('/dev/shm/tsublk-110')).toBe(false); // the default backing goes with the device
  });
});

// Discard punches holes in the backing: the target's doing, the same on either data path.
describe('discard on a memory device', () => {
  it('gives discarded space back: blkdiscard drops the backing to nothing and the device reads zeros', () => {
    add('--size', '256M', '-n', '111');
    ok('dd', 'if=/dev/urandom', 'of=/dev/ublkb111', 'bs=1M', 'count=16', 'oflag=direct');
    expect(allocated('/dev/shm/tsublk-111')).toBeGreaterThanOrEqual(16 * 2 ** 20);
    ok('blkdiscard', '/dev/ublkb111');
    expect(allocated('/dev/shm/tsublk-111')).toBeLessThan(2 ** 20);
    // Read back through the block device (blkdiscard dropped its cache): all zeros.
    const fd = openSync('/dev/ublkb111', 'r');
    try {
      const bytes = Buffer.alloc(16 * 2 ** 20, 0xff);
      expect(readSync(fd, bytes, 0, bytes.length, 0)).toBe(bytes.length);
      expect(bytes.equals(Buffer.alloc(bytes.length))).toBe(true);
    } finally {
      closeSync(fd);
    }
  });
});

describe('a filesystem on a memory device', () => {
  const filesystems = [
    { fs: 'ext4', mkfs: ['mkfs.ext4', '-q', '-F'], fsck: ['fsck.ext4', '-fn'], dataPath: '--usercopy', devId: 112 },
    { fs: 'xfs', mkfs: ['mkfs.xfs', '-q', '-f'], fsck: ['xfs_repair', '-n'], dataPath: '--copy', devId: 113 },
  ];

  it('ext4 (--usercopy) and xfs (--copy): 30 MiB of files survive sync, unmount, a clean fsck and a second mount', async () => {
    // The two devices added side by side: the guest's two CPUs share their starts.
    const added = await Promise.all(
      filesystems.map(({ dataPath, devId }) =>
        tsublkAsync('add', '-t', 'memory', '--size', '1G', '-n', String(devId), dataPath),
      ),
    );
    expect(added.map((result) => [result.status, result.stderr])).toEqual([
      [0, ''],
      [0, ''],
    ]);
    for (const { fs, mkfs, fsck, devId } of filesystems) {
      const device = `/dev/ublkb${devId}`;
      const mountPoint = `/mnt/tsublk-test-${fs}`;
      ok(mkfs[0] ?? '', ...mkfs.slice(1), device);
      mkdirSync(mountPoint, { recursive: true });
      ok('mount', device, mountPoint);
      try {
        ok('sh', '-c', `for i in $(seq 1 10); do head -c 3145728 /dev/urandom > ${mountPoint}/f$i; done; sync`);
        const sums = ok('sh', '-c', `cd ${mountPoint} && sha256sum f*`);
        ok('umount', mountPoint);
        const check = run(fsck[0] ?? '', [...fsck.slice(1), device]);
        expect(check.stderr + check.stdout, fs).not.toMatch(/corrupt|error|bad /i);
        expect(check.status, fs).toBe(0);
        ok('mount', device, mountPoint);
        expect(ok('sh', '-c', `cd ${mountPoint} && sha256sum f*`), fs).toBe(sums);
        expect(sums.trim().split('\n'), fs).toHaveLength(10);
      } finally {
        run('umount', [mountPoint]);
      }
    }
  });
});

describe('memory devices with a --backing file', () => {
  const dir = '/mnt/tsublk-backing';

  afterEach(() => {
    cleanUp(ids); // before the filesystem under the backing goes (this runs before the outer afterEach)
    run('umount', [dir]);
    rmSync(dir, { recursive: true, force: true });
  });

  function tmpfs(size: string): void {
    mkdirSync(dir, { recursive: true });
    ok('mount', '-t', 'tmpfs', '-o', `size=${size}`, 'tsublk-test', dir);
  }

  it('keeps the data across a restart with the same file, which del never removes', () => {
    tmpfs('512M');
    const image = `${dir}/disk.img`;
    add('--size', '128M', '-n', '113', '--backing', image);
    ok('sh', '-c', 'head -c 8388608 /dev/urandom > /tmp/tsublk-memory-pattern');
    ok('dd', 'if=/tmp/tsublk-memory-pattern', 'of=/dev/ublkb113', 'bs=1M', 'seek=100', 'oflag=direct', 'conv=fsync');
    const expected = createHash('sha256').update(readFileSync('/tmp/tsublk-memory-pattern')).digest('hex');
    expect(tsublk('del', '-n', '113').status).toBe(0);
    expect(statSync(image).size).toBe(128 * 2 ** 20);

    add('-n', '113', '--backing', image); // no --size: the file's own
    expect(ok('blockdev', '--getsize64', '/dev/ublkb113').trim()).toBe(String(128 * 2 ** 20));
    const again = ok('sh', '-c', 'dd if=/dev/ublkb113 bs=1M skip=100 count=8 iflag=direct status=none | sha256sum');
    expect(again.split(' ')[0]).toBe(expected);
    expect(tsublk('del', '-n', '113').status).toBe(0);
    expect(existsSync(image)).toBe(true);
  });

  it('serves an 8 GiB device on a 4 GiB guest: writes spread over it take only what they write', () => {
    tmpfs('16G'); // a limit, not a reservation
    const image = `${dir}/big.img`;
    add('--size', '8G', '-n', '114', '--backing', image);
    const result = run(
      'fio',
      [
        '--name=spread',
        '--filename=/dev/ublkb114',
        '--ioengine=io_uring',
        '--direct=1',
        '--iodepth=32',
        '--rw=randwrite',
        '--bs=64k',
        '--size=8G',
        '--io_size=128M',
        '--verify=crc32c',
        '--do_verify=1',
        '--verify_fatal=1',
        '--output-format=json',
      ],
      { timeoutMs: 300_000 },
    );
    expect(result.status).toBe(0);
    const job = fioJobs(result.stdout)[0];
    expect(job?.error).toBe(0);
    expect(job?.read.io_bytes).toBe(128 * 2 ** 20);
    const used = allocated(image);
    expect(used).toBeGreaterThanOrEqual(128 * 2 ** 20);
    expect(used).toBeLessThan(150 * 2 ** 20);
  });

  it('refuses size 0, a size not a multiple of the block size, more than /dev/shm can ever hold and a backing file of the wrong size, each in one line, creating nothing', async () => {
    tmpfs('64M');
    ok('truncate', '-s', '1M', `${dir}/other.img`);
    const refusals: Array<[string[], RegExp]> = [
      [['--size', '0'], /^tsublk: bad size 0: it must be a positive multiple of the block size \(512\)$/],
      [
        ['--size', '4097', '--bs', '4096'],
        /^tsublk: bad size 4097: it must be a positive multiple of the block size \(4096\)$/,
      ],
      [
        ['--size', '100T'],
        /^tsublk: [\d.]+ GiB is more than \/dev\/shm can ever hold \([\d.]+ GiB\): use a smaller --size, or --backing on a larger filesystem$/,
      ],
      [
        ['--size', '64M', '--backing', `${dir}/other.img`],
        /^tsublk: \/mnt\/tsublk-backing\/other.img is 1048576 bytes but the device would be 67108864: use --size 1048576, or another file$/,
      ],
    ];
    // Side by side, each with an id of its own: none creates anything another could see.
    const results = await Promise.all(
      refusals.map(([args], at) => tsublkAsync('add', '-t', 'memory', '-n', String(116 + at), ...args)),
    );
    refusals.forEach(([args, message], at) => {
      expect(results[at]?.stderr.trim(), args.join(' ')).toMatch(message);
      expect(results[at]?.status, args.join(' ')).toBe(1);
    });
    expect(leftovers(ids)).toEqual(nothingLeft);
    expect(readdirSync(dir)).toEqual(['other.img']);
  });

  it('refuses a backing file another device is using', () => {
    tmpfs('64M');
    add('--size', '16M', '-n', '115', '--backing', `${dir}/shared.img`);
    const second = tsublk('add', '-t', 'memory', '-n', '116', '--backing', `${dir}/shared.img`);
    expect(second.stderr.trim()).toBe(
      `tsublk: ${dir}/shared.img is in use by another tsublk device: pick another --backing, or delete that device first`,
    );
    expect(second.status).toBe(1);
    expect(leftovers(ids).devices.sort()).toEqual(['ublkb115', 'ublkc115']);
  });
});
