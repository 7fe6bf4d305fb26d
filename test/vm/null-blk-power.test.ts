// The null target's write cache and power (null_blk's cache_size, fua and power) on real devices.
import { readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DeviceIds,
  type Run,
  addNullDevices,
  cleanUp,
  leftovers,
  nothingLeft,
  run,
  tsublk,
  tsublkAsync,
} from './cli.js';
import { ext4PowerCuts } from './power-cut.js';

const ids: DeviceIds = { first: 20, last: 29 };

// Each test serves its own device, with the options it is about; all are added at once, side by
// side (the guest's two CPUs share their starts), beside the two refusals that need no device,
// and deleted together once every test is done.
const devices: ReadonlyArray<[number, ...string[]]> = [
  [20, '--size', '64M', '--memory_backed', '1', '--cache_size', '16'],
  [21, '--size', '64M', '--memory_backed', '1', '--cache_size', '4', '--fua', '0'],
  [22, '--size', '256M', '--memory_backed', '1', '--cache_size', '32'],
  [23, '--size', '64M'],
];
/** power on a device that has no daemon, and an add whose options exclude each other. */
let refusals: { missing: Run; recoverable: Run };

beforeAll(async () => {
  const [missing, recoverable] = await Promise.all([
    tsublkAsync('power', '-n', '24', 'off'),
    tsublkAsync(
      'add',
      '-t',
      'null',
      '-n',
      '24',
      '--size',
      '64M',
      '--memory_backed',
      '1',
      '--cache_size',
      '4',
      '-r',
      '1',
    ),
    addNullDevices(devices),
  ]);
  refusals = { missing, recoverable };
});

afterAll(() => {
  cleanUp(ids);
  expect(leftovers(ids)).toEqual(nothingLeft);
});

const MiB = 2 ** 20;

/** Writes `data` at MiB `at` with O_DIRECT (`flags`: more dd oflags; `fsync`: then fsync, a FLUSH). */
function writeAt(devId: number, at: number, data: Buffer, flags = '', fsync = false): void {
  const file = `/tmp/tsublk-power-${at}`;
  writeFileSync(file, data);
  const dd = run('dd', [
    `if=${file}`,
    `of=/dev/ublkb${devId}`,
    'bs=1M',
    `seek=${at}`,
    `oflag=direct${flags}`,
    'status=none',
    ...(fsync ? ['conv=fsync'] : []),
  ]);
  expect(dd.status, dd.stderr).toBe(0);
}

/** The MiB at `at`, read with O_DIRECT (null when the read fails). */
function readAt(devId: number, at: number): Buffer | null {
  const file = '/tmp/tsublk-power-read';
  const dd = run('dd', [
    `if=/dev/ublkb${devId}`,
    `of=${file}`,
    'bs=1M',
    'count=1',
    `skip=${at}`,
    'iflag=direct',
    'status=none',
  ]);
  return dd.status === 0 ? readFileSync(file) : null;
}

function total(devId: number, name: string): number {
  const shown = tsublk('stats', '-n', String(devId), '--json');
  expect(shown.status, shown.stderr).toBe(0);
  return (JSON.parse(shown.stdout) as { queues: Array<Record<string, number>> }).queues.reduce(
    (sum, q) => sum + (q[name] ?? 0),
    0,
  );
}

describe('cache_size, fua and power', () => {
  it('a power cut keeps what was flushed and loses what was not; a FUA write survives; off fails all I/O', () => {
    expect(readFileSync('/sys/block/ublkb20/queue/write_cache', 'utf8').trim()).toBe('write back');
    expect(readFileSync('/sys/block/ublkb20/queue/fua', 'utf8').trim()).toBe('1');
    const [a, b, c] = [randomBytes(MiB), randomBytes(MiB), randomBytes(MiB)];
    writeAt(20, 0, a, '', true); // A, then fsync: a FLUSH
    const flushes = total(20, 'flushes');
    expect(flushes).toBeGreaterThanOrEqual(1);
    writeAt(20, 1, b); // B: no flush follows
    expect(total(20, 'flushes')).toBe(flushes);
    expect(readAt(20, 1)?.equals(b)).toBe(true); // the cache serves it while the power is on

    const off = tsublk('power', '-n', '20', 'off');
    expect(off.status, off.stderr).toBe(0);
    expect(off.stdout).toMatch(/"power":0/);
    expect(readAt(20, 0)).toBeNull(); // no power: EIO
    expect(tsublk('power', '-n', '20', 'on').status).toBe(0);
    expect(readAt(20, 0)?.equals(a)).toBe(true);
    expect(readAt(20, 1)?.equals(Buffer.alloc(MiB))).toBe(true); // B was never flushed: gone

    // O_DSYNC on a FUA device: the writes carry FUA (the kernel adds a flush after them too).
    const fuaBefore = total(20, 'fua_writes');
    writeAt(20, 2, c, ',dsync');
    expect(total(20, 'fua_writes')).toBeGreaterThan(fuaBefore);
    expect(tsublk('power', '-n', '20', 'off').status).toBe(0);
    expect(tsublk('power', '-n', '20', 'on').status).toBe(0);
    expect(readAt(20, 2)?.equals(c)).toBe(true);
    expect(tsublk('list', '-n', '20', '--json').stdout).toMatch(/"cacheSize": 16/);
  });

  it('with --fua 0 the device advertises no FUA, and the kernel flushes instead: a dsync write still survives', () => {
    expect(readFileSync('/sys/block/ublkb21/queue/fua', 'utf8').trim()).toBe('0');
    const data = randomBytes(MiB);
    writeAt(21, 3, data, ',dsync');
    expect(total(21, 'fua_writes')).toBe(0);
    expect(tsublk('power', '-n', '21', 'off').status).toBe(0);
    expect(tsublk('power', '-n', '21', 'on').status).toBe(0);
    expect(readAt(21, 3)?.equals(data)).toBe(true);
  });

  it('ext4 on a cached device survives power cuts under fio with fsync: fsck.ext4 -fn is clean after each', async () => {
    const cycles = await ext4PowerCuts(22, 2); // test:stress runs 20
    process.stdout.write(`ext4 power cuts: ${cycles.map((c) => c.fsck).join(' | ')}\n`);
    expect(cycles).toHaveLength(2);
    expect(total(22, 'flushes')).toBeGreaterThan(0);
  }, 300_000);

  it('power and set refuse what they cannot do, in one line', async () => {
    const { missing, recoverable } = refusals; // run beside the adds (beforeAll)
    expect(missing.status).toBe(1);
    expect(missing.stderr.trim()).toBe(
      'tsublk: device 24 has no control socket (/run/tsublk/24.sock): is its daemon running? see tsublk list -n 24',
    );
    expect(recoverable.status).toBe(1);
    expect(recoverable.stderr.trim()).toBe(
      'tsublk: --cache_size and -r/-e/-i exclude each other: the write cache lives in the daemon and dies with it, so the device could not be recovered',
    );
    const [fixed, none] = await Promise.all([
      tsublkAsync('set', '-n', '23', '--mbps', '10', '--badblocks', '+1-x'),
      tsublkAsync('set', '-n', '23'),
    ]);
    expect(fixed.status).toBe(1);
    expect(fixed.stderr.trim()).toBe(
      "tsublk: bad --badblocks item '+1-x': use +START-END (add) or -START-END (clear), 512-byte sectors, END included, e.g. +2048-2055",
    );
    expect(none.stderr.trim()).toBe(
      'tsublk: name a setting to change: e.g. tsublk set -n 0 --mbps 50 (see tsublk set --help)',
    );
    expect(tsublk('list', '-n', '23', '--json').stdout).toMatch(/"mbps": 0/); // nothing changed
  });
});
