// The newest ublk's control features: resize (UPDATE_SIZE, 6.16), del --safe (SAFE_STOP_DEV,
// 7.0), --no_auto_part_scan (7.0), and `features` naming every bit with its release. Runs on
// every guest kernel: where the kernel has a feature, it is driven for real; where it lacks it,
// tsublk must refuse by name (feature and release) and change nothing, and the test says so.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { daemonPid, waitForState } from './kernel-state.js';
import {
  type DeviceIds,
  cleanUp,
  expectBtrfsZoneAppendsReadBack,
  fioWriteVerify,
  kernelFeatures,
  leftovers,
  listedDevice,
  nothingLeft,
  ok,
  run,
  tsublk,
} from './cli.js';

const ids: DeviceIds = { first: 130, last: 139 };

afterEach(() => {
  cleanUp(ids);
  expect(leftovers(ids)).toEqual(nothingLeft);
});

const report = kernelFeatures();
const has = (name: string): boolean => report.names.includes(name);
/** Says in the test output which branch this kernel takes. */
const branch = (feature: string): string =>
  has(feature) ? `${report.kernel} has ${feature}` : `${report.kernel} lacks ${feature}: refused by name`;

const MiB = 2 ** 20;

function add(...args: string[]): void {
  const result = tsublk('add', ...args);
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
}

function sizeOf(device: string): number {
  return Number(ok('blockdev', '--getsize64', device).trim());
}

/**
 * sha256 of `bytes` of a device from `skip` on, read with O_DIRECT (what the disk holds, not the
 * page cache), through a pipe (megabytes overflow a spawn's output buffer).
 */
function digest(device: string, bytes: number, skip = 0): string {
  const dd = `dd if=${device} bs=1M skip=${skip / MiB} count=${bytes / MiB} iflag=direct status=none`;
  return ok('sh', '-c', `${dd} | sha256sum`).split(' ')[0] ?? '';
}

function zerosDigest(bytes: number): string {
  return createHash('sha256').update(Buffer.alloc(bytes)).digest('hex');
}

describe('features', () => {
  it('names every bit this kernel reports, with the release that brought it, and marks what tsublk uses', () => {
    expect(report.unknownBits).toEqual([]);
    for (const row of report.rows) expect(row.since, row.name).toMatch(/^[67]\.\d+$/);
    const used = report.rows.filter((row) => row.used).map((row) => row.name);
    expect(used).toEqual(
      expect.arrayContaining(['USER_COPY', 'UPDATE_SIZE', 'QUIESCE', 'SAFE_STOP_DEV', 'NO_AUTO_PART_SCAN']),
    );
    expect(tsublk('features').stdout).toMatch(/\tUPDATE_SIZE\s+6\.16\s+(yes|no)\s+used\n/);
  });
});

describe('resize (UPDATE_SIZE, Linux 6.16)', () => {
  it(`memory: grows and shrinks, keeping the data below the new end (${branch('UPDATE_SIZE')})`, () => {
    add('-t', 'memory', '-n', '130', '--size', '16M');
    ok('dd', 'if=/dev/urandom', 'of=/dev/ublkb130', 'bs=1M', 'count=16', 'oflag=direct', 'status=none');
    const first8 = digest('/dev/ublkb130', 8 * MiB);
    const all16 = digest('/dev/ublkb130', 16 * MiB);
    const grow = tsublk('resize', '-n', '130', '--size', '32M');
    if (!has('UPDATE_SIZE')) {
      expect(grow.status).toBe(1);
      expect(grow.stderr).toMatch(/lacks UBLK_F_UPDATE_SIZE, which Linux 6\.16 brought/);
      expect(sizeOf('/dev/ublkb130')).toBe(16 * MiB); // nothing changed
      expect(digest('/dev/ublkb130', 16 * MiB)).toBe(all16);
      return;
    }
    expect(grow.stderr).toBe('');
    expect(grow.status).toBe(0);
    expect(sizeOf('/dev/ublkb130')).toBe(32 * MiB);
    expect(digest('/dev/ublkb130', 16 * MiB)).toBe(all16);
    expect(digest('/dev/ublkb130', 16 * MiB, 16 * MiB)).toBe(zerosDigest(16 * MiB)); // the new half reads zeros
    expect(tsublk('resize', '-n', '130', '--size', '8M').status).toBe(0);
    expect(sizeOf('/dev/ublkb130')).toBe(8 * MiB);
    expect(digest('/dev/ublkb130', 8 * MiB)).toBe(first8);
    // list shows the new size, from the record.
    const listed = tsublk('list', '-n', '130').stdout;
    expect(listed).toContain('dev_capacity 16384');
    expect(listed).toContain('"dev_size":8388608');
    // Bad sizes: one line each, nothing changed.
    expect(tsublk('resize', '-n', '130', '--size', '1000').stderr).toMatch(/bad size 1000: give a whole number/);
    expect(tsublk('resize', '-n', '130', '--size', 'big').stderr).toMatch(/bad size 'big'/);
    expect(sizeOf('/dev/ublkb130')).toBe(8 * MiB);
  });

  it(`ext4 grows online with resize2fs after a grow; loop grows its file and shrinks it only with --truncate (${branch('UPDATE_SIZE')})`, () => {
    if (!has('UPDATE_SIZE')) {
      add('-t', 'null', '-n', '131', '--size', '1G');
      const refused = tsublk('resize', '-n', '131', '--size', '2G');
      expect(refused.status).toBe(1);
      expect(refused.stderr).toMatch(/lacks UBLK_F_UPDATE_SIZE, which Linux 6\.16 brought/);
      return;
    }
    add('-t', 'memory', '-n', '130', '--size', '64M');
    ok('mkfs.ext4', '-q', '/dev/ublkb130');
    ok('mkdir', '-p', '/mnt/resize');
    ok('mount', '/dev/ublkb130', '/mnt/resize');
    try {
      ok('dd', 'if=/dev/urandom', 'of=/mnt/resize/data', 'bs=1M', 'count=8', 'status=none');
      const before = createHash('sha256').update(readFileSync('/mnt/resize/data')).digest('hex');
      const blocksBefore = Number(ok('stat', '-f', '-c', '%b', '/mnt/resize').trim());
      expect(tsublk('resize', '-n', '130', '--size', '128M').status).toBe(0);
      ok('resize2fs', '/dev/ublkb130');
      const blocksAfter = Number(ok('stat', '-f', '-c', '%b', '/mnt/resize').trim());
      expect(blocksAfter).toBeGreaterThan(blocksBefore * 1.8);
      expect(createHash('sha256').update(readFileSync('/mnt/resize/data')).digest('hex')).toBe(before);
    } finally {
      run('umount', ['/mnt/resize']);
    }
    ok('e2fsck', '-fn', '/dev/ublkb130');

    // loop: the file follows a grow; a shrink below it needs --truncate.
    const file = '/var/tmp/tsublk-resize.img';
    rmSync(file, { force: true });
    ok('truncate', '-s', '32M', file);
    add('-t', 'loop', '-n', '131', '-f', file);
    expect(tsublk('resize', '-n', '131', '--size', '64M').status).toBe(0);
    expect(statSync(file).size).toBe(64 * MiB);
    expect(sizeOf('/dev/ublkb131')).toBe(64 * MiB);
    const refused = tsublk('resize', '-n', '131', '--size', '16M');
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/add --truncate to cut the file there/);
    expect(sizeOf('/dev/ublkb131')).toBe(64 * MiB);
    expect(tsublk('resize', '-n', '131', '--size', '16M', '--truncate').status).toBe(0);
    expect(statSync(file).size).toBe(16 * MiB);
    expect(sizeOf('/dev/ublkb131')).toBe(16 * MiB);

    // null: its size is a number; a zoned one is refused by name.
    add('-t', 'null', '-n', '132', '--size', '1G');
    expect(tsublk('resize', '-n', '132', '--size', '2G').status).toBe(0);
    expect(sizeOf('/dev/ublkb132')).toBe(2 * 2 ** 30);
    tsublk('del', '-n', '131');
    rmSync(file, { force: true });
  });
});

describe('del --safe (TRY_STOP_DEV, Linux 7.0)', () => {
  it(`refuses while the disk is mounted, changing nothing, and deletes once it is not (${branch('SAFE_STOP_DEV')})`, () => {
    add('-t', 'memory', '-n', '130', '--size', '32M');
    ok('mkfs.ext4', '-q', '/dev/ublkb130');
    ok('mkdir', '-p', '/mnt/safe');
    ok('mount', '/dev/ublkb130', '/mnt/safe');
    let refused;
    try {
      refused = tsublk('del', '-n', '130', '--safe');
      expect(refused.status).toBe(1);
      ok('dd', 'if=/dev/zero', 'of=/mnt/safe/after', 'bs=1M', 'count=1', 'conv=fsync', 'status=none');
    } finally {
      run('umount', ['/mnt/safe']);
    }
    if (!has('SAFE_STOP_DEV')) {
      expect(refused.stderr).toMatch(
        /lacks UBLK_F_SAFE_STOP_DEV, which Linux 7\.0 brought: del --safe needs it; check that nothing has \/dev\/ublkb130 open/,
      );
      expect(existsSync('/dev/ublkb130')).toBe(true);
      return;
    }
    expect(refused.stderr).toBe(
      'tsublk: device 130 is in use (mounted, or open by a process): unmount or close it, then del --safe again\n',
    );
    expect(existsSync('/dev/ublkb130')).toBe(true); // still served: the write above went through
    const deleted = tsublk('del', '-n', '130', '--safe');
    expect(deleted.stderr).toBe('');
    expect(deleted.status).toBe(0);
    expect(existsSync('/dev/ublkb130')).toBe(false);
    // The daemon stopped cleanly: its log says why, and nothing is left (afterEach).
  });
});

describe('--no_auto_part_scan (NO_AUTO_PART_SCAN, Linux 7.0)', () => {
  it(`starts without reading the partition table, which a rescan then finds (${branch('NO_AUTO_PART_SCAN')})`, () => {
    const backing = '/var/tmp/tsublk-parts.img';
    rmSync(backing, { force: true });
    ok('truncate', '-s', '16M', backing);
    // An MBR with one Linux partition at sector 2048, 8192 sectors long.
    const mbr = Buffer.alloc(512);
    mbr[446 + 4] = 0x83;
    mbr.writeUInt32LE(2048, 446 + 8);
    mbr.writeUInt32LE(8192, 446 + 12);
    mbr[510] = 0x55;
    mbr[511] = 0xaa;
    const fd = openSync(backing, 'r+');
    writeSync(fd, mbr, 0, 512, 0);
    closeSync(fd);
    const added = tsublk('add', '-t', 'memory', '-n', '130', '--backing', backing, '--no_auto_part_scan');
    if (!has('NO_AUTO_PART_SCAN')) {
      expect(added.status).toBe(1);
      expect(added.stderr).toMatch(/lacks UBLK_F_NO_AUTO_PART_SCAN, which Linux 7\.0 brought/);
      rmSync(backing, { force: true });
      return;
    }
    expect(added.status, added.stderr).toBe(0);
    expect(existsSync('/sys/block/ublkb130/ublkb130p1')).toBe(false);
    ok('blockdev', '--rereadpt', '/dev/ublkb130');
    expect(existsSync('/sys/block/ublkb130/ublkb130p1')).toBe(true);
    expect(tsublk('del', '-n', '130').status).toBe(0);
    // Without the flag the kernel scans at start.
    add('-t', 'memory', '-n', '130', '--backing', backing);
    expect(existsSync('/sys/block/ublkb130/ublkb130p1')).toBe(true);
    expect(tsublk('del', '-n', '130').status).toBe(0);
    rmSync(backing, { force: true });
  });
});

describe('restart and quiesce (QUIESCE_DEV, Linux 6.16)', () => {
  it(`replaces a LIVE daemon twice under fio write+verify with 0 errors (${branch('QUIESCE')})`, async () => {
    add('-t', 'memory', '-n', '130', '--size', '128M', '-q', '2', '-r', '1');
    const pid = (): number => daemonPid(130); // the kernel's record: no tsublk list start per look
    const first = pid();
    if (!has('QUIESCE')) {
      const refused = tsublk('restart', '-n', '130');
      expect(refused.status).toBe(1);
      expect(refused.stderr).toMatch(/lacks UBLK_F_QUIESCE, which Linux 6\.16 brought/);
      expect(pid()).toBe(first); // the daemon serves on
      return;
    }
    expect(tsublk('list', '-n', '130').stdout).toMatch(/\bQUIESCE\b/); // asked for with -r 1
    // ~8 s of paced writes: both restarts happen while fio writes.
    const finished = fioWriteVerify('/dev/ublkb130', { iodepth: 16, size: '128M', io_size: '48M', rate_iops: 1500 });
    const pids = [first];
    for (let restart = 0; restart < 2; restart++) {
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const result = tsublk('restart', '-n', '130');
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      pids.push(pid());
    }
    const { status, job } = await finished;
    expect(status).toBe(0);
    expect(job?.error).toBe(0);
    expect(job?.write.io_bytes).toBe(48 * MiB);
    expect(job?.read.io_bytes).toBe(48 * MiB); // every block written was verified
    expect(new Set(pids).size).toBe(3); // three daemons served it in turn
    expect(readFileSync('/run/tsublk/130.log', 'utf8')).toContain('quiesced (tsublk restart or quiesce)');

    // quiesce alone: the device waits QUIESCED with no daemon until recover.
    expect(tsublk('quiesce', '-n', '130').status).toBe(0);
    expect(listedDevice<{ state: string }>(130)?.state).toBe('QUIESCED');
    expect(tsublk('recover', '-n', '130').status).toBe(0);
    expect(listedDevice<{ state: string }>(130)?.state).toBe('LIVE');

    // A device added without recovery cannot be quiesced: one line, and it serves on.
    add('-t', 'null', '-n', '131', '--size', '1G');
    const refused = tsublk('restart', '-n', '131');
    expect(refused.stderr).toBe(
      'tsublk: device 131 was added without recovery (-r 1), so it cannot be quiesced: its daemon can only be stopped (del)\n',
    );
    expect(listedDevice<{ state: string }>(131)?.state).toBe('LIVE');
  });
});

describe('batch I/O (-b: BATCH_IO, Linux 7.0)', () => {
  it(`per-tag buffers (--copy), 4 queues: fio write+verify with 0 errors; restart refused by name, as the kernel would fail I/O (${branch('BATCH_IO')})`, async () => {
    if (!has('BATCH_IO')) {
      const refused = tsublk('add', '-t', 'memory', '-n', '130', '--size', '64M', '-b');
      expect(refused.status).toBe(1);
      expect(refused.stderr).toMatch(
        /^tsublk: this kernel \(.*\) lacks UBLK_F_BATCH_IO, which Linux 7\.0 brought: [^\n]+\n$/,
      );
      return;
    }
    add('-t', 'memory', '-n', '130', '--size', '64M', '-q', '4', '-b', '--copy', '-r', '1');
    const listed = listedDevice<{ io_commands: string; data_path: string; daemon_pid: number }>(130);
    expect(listed?.io_commands).toBe('batch');
    expect(listed?.data_path).toBe('copy');
    const { status, job } = await fioWriteVerify('/dev/ublkb130', {
      iodepth: 32,
      numjobs: 2,
      size: '32M',
      offset_increment: '32M',
      group_reporting: 1,
      io_size: '16M',
    });
    expect(status).toBe(0);
    expect(job?.error).toBe(0);
    expect(job?.read.io_bytes).toBe(job?.write.io_bytes); // every block written was verified
    const refused = tsublk('restart', '-n', '130');
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(
      /^tsublk: device 130 uses batch I\/O \(-b\), and this kernel fails with EIO [^\n]+: add it without -b [^\n]+\n$/,
    );
    expect(listedDevice<{ daemon_pid: number; state: string }>(130)).toMatchObject({
      daemon_pid: listed?.daemon_pid,
      state: 'LIVE',
    });
  });

  it(`zoned, 1 queue: btrfs's zone appends return their LBA through the batch elements, and its data reads back after a remount (${branch('BATCH_IO')})`, () => {
    const zoned = [
      '-t',
      'null',
      '-n',
      '131',
      '--size',
      '512M',
      '--zoned',
      '1',
      '--zone_size',
      '16',
      '--memory_backed',
      '1',
      '-q',
      '1',
      '-b',
    ];
    if (!has('BATCH_IO')) {
      const refused = tsublk('add', ...zoned);
      expect(refused.status).toBe(1);
      expect(refused.stderr).toMatch(/lacks UBLK_F_BATCH_IO, which Linux 7\.0 brought/);
      return;
    }
    add(...zoned);
    expectBtrfsZoneAppendsReadBack(131);
  });
});

describe('more threads than queues (--nthreads with --per_io_tasks: PER_IO_DAEMON, Linux 6.16)', () => {
  it(`spreads 2 queues' tags over 4 threads: fio write+verify runs through a kill -9 and recover with -i 1 with 0 errors (${branch('PER_IO_DAEMON')})`, async () => {
    const args = [
      '-t',
      'memory',
      '-n',
      '130',
      '--size',
      '64M',
      '-q',
      '2',
      '--nthreads',
      '4',
      '--per_io_tasks',
      '-i',
      '1',
    ];
    if (!has('PER_IO_DAEMON')) {
      const refused = tsublk('add', ...args);
      expect(refused.status).toBe(1);
      expect(refused.stderr).toMatch(
        /^tsublk: this kernel \(.*\) lacks UBLK_F_PER_IO_DAEMON, which Linux 6\.16 brought: [^\n]+\n$/,
      );
      return;
    }
    add(...args);
    type Listed = { flag_names: string[]; queues: Array<{ tids: number[] }>; daemon_pid: number };
    const threadsOf = (listed: Listed | undefined): number[] => listed?.queues.flatMap((queue) => queue.tids) ?? [];
    const before = listedDevice<Listed>(130);
    expect(before?.flag_names).toContain('PER_IO_DAEMON');
    expect(before?.queues.map((queue) => queue.tids.length)).toEqual([2, 2]); // two threads per queue
    expect(new Set(threadsOf(before)).size).toBe(4);

    // ~10 s of paced writes, each block verified; the daemon dies 2 s in.
    const finished = fioWriteVerify('/dev/ublkb130', { iodepth: 32, size: '64M', io_size: '24M', rate_iops: 1000 });
    await new Promise((resolve) => setTimeout(resolve, 2000));
    process.kill(before?.daemon_pid ?? 0, 'SIGKILL');
    await waitForState(130, 'QUIESCED', 5000);
    const recovered = tsublk('recover', '-n', '130');
    expect(recovered.stderr).toBe('');
    expect(recovered.status).toBe(0);
    const after = listedDevice<Listed>(130);
    expect(after?.queues.map((queue) => queue.tids.length)).toEqual([2, 2]); // the new daemon took the same shape
    const { status, job } = await finished;
    expect(status).toBe(0);
    expect(job?.error).toBe(0);
    expect(job?.write.io_bytes).toBe(24 * MiB);
    expect(job?.read.io_bytes).toBe(24 * MiB); // every block written was verified
    // Each queue's counters sum its threads' (the new daemon's, since the recovery).
    const stats = JSON.parse(tsublk('stats', '-n', '130', '--json').stdout) as {
      queues: Array<Record<string, number>>;
    };
    expect(stats.queues).toHaveLength(2);
    for (const queue of stats.queues) {
      expect(queue['requests']).toBeGreaterThan(0);
      expect(queue['completed']).toBe(queue['requests']);
      expect(queue['errors']).toBe(0);
    }
  });
});
