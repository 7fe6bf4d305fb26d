// The null target's data, bandwidth, bad blocks and queue limits (null_blk's memory_backed,
// discard, mbps, badblocks*, rotational, blocksize, max_sectors) on real devices.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DeviceIds,
  type Run,
  addNullDevices,
  cleanUp,
  leftovers,
  nothingLeft,
  ok,
  run,
  tsublk,
  tsublkAsync,
} from './cli.js';

const ids: DeviceIds = { first: 30, last: 39 };

// Each test serves its own device, with the options it is about; all are added at once, side by
// side (the guest's two CPUs share their starts), and deleted together once every test is done.
const devices: ReadonlyArray<[number, ...string[]]> = [
  [30, '--size', '256M', '--memory_backed', '1', '--discard', '1'],
  [31, '--size', '4G', '--mbps', '20'],
  [32, '--size', '1G', '--badblocks', '+2048-2055'],
  [33, '--size', '64M', '--memory_backed', '1', '--badblocks', '+2048-2055', '--badblocks_partial_io', '1'],
  [34, '--size', '64M', '--memory_backed', '1', '--badblocks', '+2048-2055'],
  [35, '--size', '1G', '--rotational', '1', '--bs', '2048', '--max_sectors', '64', '--virt_boundary', '1'],
];
/** The one refusal, run beside the adds: it needs no device. */
let maxSectorsRefusal: Run;

beforeAll(async () => {
  [maxSectorsRefusal] = await Promise.all([
    tsublkAsync('add', '-t', 'null', '-n', '36', '--max_sectors', '2048'),
    addNullDevices(devices),
  ]);
});

afterAll(() => {
  cleanUp(ids);
  expect(leftovers(ids)).toEqual(nothingLeft);
});

const MiB = 2 ** 20;

function fioJob(...args: string[]): { error: number; read: { io_bytes: number }; write: { io_bytes: number } } {
  const output = ok('fio', '--ioengine=io_uring', '--direct=1', '--output-format=json', ...args);
  const job = (
    JSON.parse(output.slice(output.indexOf('{'))) as {
      jobs: Array<{ error: number; read: { io_bytes: number }; write: { io_bytes: number } }>;
    }
  ).jobs[0];
  if (job === undefined) throw new Error('fio printed no job');
  return job;
}

/** Reads one 512-byte sector with O_DIRECT: true when it succeeds. */
function sectorReads(devId: number, sector: number): boolean {
  return (
    run('dd', [
      `if=/dev/ublkb${devId}`,
      'of=/dev/null',
      'bs=512',
      'count=1',
      `skip=${sector}`,
      'iflag=direct',
      'status=none',
    ]).status === 0
  );
}

function queueAttribute(devId: number, name: string): string {
  return readFileSync(`/sys/block/ublkb${devId}/queue/${name}`, 'utf8').trim();
}

describe('memory_backed and discard', () => {
  it('keeps data through fio verify on 2 queues, and blkdiscard reads back zeros', () => {
    const job = fioJob(
      '--name=mb',
      '--filename=/dev/ublkb30',
      '--rw=randwrite',
      '--bs=16k',
      '--iodepth=16',
      '--numjobs=2',
      '--size=32M',
      '--offset_increment=64M',
      '--verify=crc32c',
      '--do_verify=1',
      '--verify_fatal=1',
      '--group_reporting',
      '--verify_state_save=0',
    );
    expect(job.error).toBe(0);
    expect(job.read.io_bytes).toBe(job.write.io_bytes);
    expect(Number(queueAttribute(30, 'discard_max_bytes'))).toBeGreaterThan(0);
    ok('blkdiscard', '-o', '0', '-l', String(64 * MiB), '/dev/ublkb30');
    const zeros = run('cmp', ['-n', String(64 * MiB), '/dev/ublkb30', '/dev/zero']);
    expect(zeros.status, zeros.stdout).toBe(0);
    expect(run('cmp', ['-s', '-n', String(MiB), '-i', `${64 * MiB}:0`, '/dev/ublkb30', '/dev/zero']).status).toBe(1); // fio's data is still past it
  });
});

describe('mbps', () => {
  it('caps a 5 s sequential write at 100 MiB for 20 MiB/s, and set changes the cap while it runs', () => {
    const capped = fioJob(
      '--name=bw',
      '--filename=/dev/ublkb31',
      '--rw=write',
      '--bs=1M',
      '--iodepth=4',
      '--time_based',
      '--runtime=5',
    );
    expect(capped.error).toBe(0);
    const moved = capped.write.io_bytes / MiB;
    process.stdout.write(`mbps 20, 5 s: ${moved.toFixed(1)} MiB\n`);
    expect(moved).toBeGreaterThanOrEqual(90);
    expect(moved).toBeLessThanOrEqual(110);

    const set = tsublk('set', '-n', '31', '--mbps', '50');
    expect(set.status, set.stderr).toBe(0);
    expect(set.stdout).toMatch(/"mbps":50/);
    const faster = fioJob(
      '--name=bw',
      '--filename=/dev/ublkb31',
      '--rw=write',
      '--bs=1M',
      '--iodepth=4',
      '--time_based',
      '--runtime=3',
    );
    process.stdout.write(`mbps 50, 3 s: ${(faster.write.io_bytes / MiB).toFixed(1)} MiB\n`);
    expect(faster.write.io_bytes / MiB).toBeGreaterThanOrEqual(135);
    expect(faster.write.io_bytes / MiB).toBeLessThanOrEqual(165);
  });
});

describe('badblocks', () => {
  it('fails reads exactly on the listed range with EIO; set adds ranges, once heals them', async () => {
    expect([2047, 2048, 2051, 2055, 2056].map((sector) => sectorReads(32, sector))).toEqual([
      true,
      false,
      false,
      false,
      true,
    ]);
    expect(sectorReads(32, 2048)).toBe(false); // stays bad
    expect(tsublk('set', '-n', '32', '--badblocks', '+4096-4096', '--badblocks_once', '1').status).toBe(0);
    expect(sectorReads(32, 4096)).toBe(false);
    expect(sectorReads(32, 4096)).toBe(true); // healed by its first failure
    expect(sectorReads(32, 2050)).toBe(false); // once heals the range it failed: 2048-2055 fails once more…
    expect(sectorReads(32, 2050)).toBe(true); // …and is gone
    await new Promise((resolve) => setTimeout(resolve, 200)); // the daemon records what healed as it hears of it
    expect(tsublk('list', '-n', '32', '--json').stdout).toMatch(/"badblocks": ""/);
    const stats = JSON.parse(tsublk('stats', '-n', '32', '--json').stdout) as { queues: Array<Record<string, number>> };
    expect(stats.queues.reduce((sum, q) => sum + (q['injected_errors'] ?? 0), 0)).toBe(6); // 2048, 2051, 2055, 2048, 4096, 2050
  });

  it('partial_io writes the good prefix before failing; without it a failed write stores nothing', () => {
    for (const devId of [33, 34]) {
      // 16 sectors of 0xff from sector 2040: the last 8 are bad.
      const dd = run('bash', [
        '-c',
        `head -c 8192 /dev/zero | tr '\\0' '\\377' | dd of=/dev/ublkb${devId} bs=8192 seek=${2040 * 512} oflag=direct,seek_bytes status=none`,
      ]);
      expect(dd.status).not.toBe(0);
      expect(dd.stderr).toMatch(/Input\/output error/);
      expect(tsublk('set', '-n', String(devId), '--badblocks=-2048-2055').status).toBe(0); // = : a value starting with -
      const prefix = run('bash', [
        '-c',
        `dd if=/dev/ublkb${devId} bs=512 skip=2040 count=8 iflag=direct status=none | od -v -An -tx1 | sort -u | tr -d ' '`,
      ]).stdout.trim();
      expect(prefix).toBe(devId === 33 ? 'ffffffffffffffffffffffffffffffff' : '00000000000000000000000000000000');
    }
  });
});

describe('rotational, blocksize, max_sectors and virt_boundary', () => {
  it('reach the kernel queue limits', () => {
    const bad = maxSectorsRefusal; // run beside the adds (beforeAll)
    expect(bad.status).toBe(1);
    expect(bad.stderr.trim()).toBe(
      'tsublk: bad --max_sectors 2048: requests of 1048576 bytes need --max_io_buf_bytes 1048576 or more (it is 524288)',
    );
    expect(queueAttribute(35, 'rotational')).toBe('1');
    expect(queueAttribute(35, 'virt_boundary_mask')).toBe('4095');
    expect(queueAttribute(35, 'logical_block_size')).toBe('2048');
    expect(queueAttribute(35, 'max_hw_sectors_kb')).toBe('32');
    const job = fioJob(
      '--name=lim',
      '--filename=/dev/ublkb35',
      '--rw=randread',
      '--bs=128k',
      '--iodepth=4',
      '--time_based',
      '--runtime=1',
    );
    expect(job.error).toBe(0);
  });
});
