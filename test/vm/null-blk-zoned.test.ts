// The null target as a host-managed zoned device (null_blk's zoned and zone_* attributes) through
// UBLK_F_ZONED: the kernel's zone report, write-pointer rules, fio's zbd mode, btrfs's zone appends.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DeviceIds,
  addNullDevices,
  cleanUp,
  expectBtrfsZoneAppendsReadBack,
  leftovers,
  nothingLeft,
  ok,
  run,
  tsublkAsync,
} from './cli.js';

// Each test serves its own device, with the zone layout it is about; all are added at once, side
// by side (the guest's two CPUs share their starts), and deleted together once every test is done.
const ids: DeviceIds = { first: 50, last: 59 };
const devices: ReadonlyArray<[number, ...string[]]> = [
  [
    50,
    '--size',
    '256M',
    '--zoned',
    '1',
    '--zone_size',
    '16',
    '--zone_capacity',
    '12',
    '--zone_nr_conv',
    '1',
    '--zone_max_open',
    '4',
    '--memory_backed',
    '1',
  ],
  [51, '--size', '512M', '--zoned', '1', '--zone_size', '16', '--memory_backed', '1'],
  [53, '--size', '64M', '--zoned', '1', '--zone_size', '8', '--zone_readonly', '1', '--zone_offline', '1'],
];

beforeAll(() => addNullDevices(devices));

afterAll(() => {
  cleanUp(ids);
  expect(leftovers(ids)).toEqual(nothingLeft);
});

interface ReportedZone {
  start: number;
  len: number;
  cap: number;
  wptr: number;
  cond: number;
  type: number;
}

/** `blkzone report`, parsed. */
function report(device: string, ...args: string[]): ReportedZone[] {
  return ok('blkzone', 'report', ...args, device)
    .trim()
    .split('\n')
    .map((line) => {
      const field = (name: string): number => Number(new RegExp(`${name}:? *(0x[0-9a-f]+|\\d+)`).exec(line)?.[1]); // "zcond: 1(em)", "zcond:14(fu)"
      return {
        start: field('start'),
        len: field('len'),
        cap: field('cap'),
        wptr: field('wptr'),
        cond: field('zcond'),
        type: field('type'),
      };
    });
}

describe('zoned', () => {
  it('shows its layout to the kernel and blkzone, enforces the write pointer, and passes fio zbd verify', () => {
    const queue = (name: string): string => readFileSync(`/sys/block/ublkb50/queue/${name}`, 'utf8').trim();
    expect([queue('zoned'), queue('chunk_sectors'), queue('nr_zones'), queue('max_open_zones')]).toEqual([
      'host-managed',
      '32768',
      '16',
      '4',
    ]);
    const zones = report('/dev/ublkb50');
    expect(zones).toHaveLength(16);
    expect(zones[0]).toMatchObject({ start: 0, len: 32768, cap: 32768, type: 1, cond: 0 });
    expect(zones[1]).toMatchObject({ start: 32768, len: 32768, cap: 24576, wptr: 0, type: 2, cond: 1 }); // wptr relative to start

    // At the write pointer: the pointer moves. Not at it: EIO, and the pointer stays.
    const zone1 = 32768 * 512;
    ok(
      'dd',
      'if=/dev/urandom',
      'of=/dev/ublkb50',
      'bs=4096',
      'count=2',
      `seek=${zone1}`,
      'oflag=direct,seek_bytes',
      'status=none',
    );
    expect(report('/dev/ublkb50', '-o', '32768', '-c', '1')[0]).toMatchObject({ wptr: 16, cond: 2 }); // 8 KiB in, implicitly open
    const off = run('dd', [
      'if=/dev/zero',
      'of=/dev/ublkb50',
      'bs=4096',
      'count=1',
      `seek=${zone1 + 4 * 4096}`,
      'oflag=direct,seek_bytes',
      'status=none',
    ]);
    expect(off.status).not.toBe(0);
    // After a failed write the kernel trusts no write pointer it cached until a zone report (as any application must do).
    expect(report('/dev/ublkb50', '-o', '32768', '-c', '1')[0]).toMatchObject({ wptr: 16, cond: 2 });
    ok('blkzone', 'reset', '-o', '32768', '-c', '1', '/dev/ublkb50');
    expect(report('/dev/ublkb50', '-o', '32768', '-c', '1')[0]).toMatchObject({ wptr: 0, cond: 1 });

    const output = ok(
      'fio',
      '--name=zbd',
      '--filename=/dev/ublkb50',
      '--zonemode=zbd',
      '--direct=1',
      '--ioengine=io_uring',
      '--iodepth=8',
      '--rw=write',
      '--bs=64k',
      '--offset=16M',
      '--size=120M',
      '--verify=crc32c',
      '--do_verify=1',
      '--verify_fatal=1',
      '--output-format=json',
      '--verify_state_save=0',
    );
    const job = (
      JSON.parse(output.slice(output.indexOf('{'))) as {
        jobs: Array<{ error: number; write: { io_bytes: number }; read: { io_bytes: number } }>;
      }
    ).jobs[0];
    expect(job?.error).toBe(0);
    expect(job?.write.io_bytes).toBeGreaterThan(0);
    expect(job?.read.io_bytes).toBe(job?.write.io_bytes);
    expect(report('/dev/ublkb50').filter((zone) => zone.cond === 0xe).length).toBeGreaterThan(0); // fio filled zones
  });

  it('btrfs on it: data written with zone appends reads back after a remount', () => {
    expectBtrfsZoneAppendsReadBack(51);
  });

  it('starts zones read-only and offline as configured: writes and offline reads fail', () => {
    expect(
      report('/dev/ublkb53')
        .slice(0, 3)
        .map((zone) => zone.cond),
    ).toEqual([0xd, 0xf, 1]);
    expect(
      run('dd', ['if=/dev/zero', 'of=/dev/ublkb53', 'bs=4096', 'count=1', 'oflag=direct', 'status=none']).status,
    ).not.toBe(0);
    expect(
      run('dd', [
        'if=/dev/ublkb53',
        'of=/dev/null',
        'bs=4096',
        'count=1',
        `skip=${2048}`,
        'iflag=direct',
        'status=none',
      ]).status,
    ).not.toBe(0);
    expect(
      run('dd', ['if=/dev/ublkb53', 'of=/dev/null', 'bs=4096', 'count=1', 'iflag=direct', 'status=none']).status,
    ).toBe(0); // read-only reads
  });

  it('refuses what cannot be zoned, in one line', async () => {
    // Side by side: neither creates anything.
    const [copy, size] = await Promise.all([
      tsublkAsync('add', '-t', 'null', '-n', '52', '--zoned', '1', '--copy'),
      tsublkAsync('add', '-t', 'null', '-n', '52', '--size', '64M', '--zoned', '1', '--zone_size', '24'),
    ]);
    expect(copy.stderr.trim()).toBe(
      'tsublk: --zoned 1 needs the user copy data path (UBLK_F_USER_COPY): leave out --copy, -g 1 and --unprivileged',
    );
    expect(size.stderr.trim()).toBe('tsublk: bad --zone_size 24: use --zone_size with a power of two MiB');
  });
});
