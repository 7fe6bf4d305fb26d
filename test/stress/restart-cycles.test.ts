// Soak loop for npm run test:stress: tsublk restart (QUIESCE_DEV, Linux 6.16) again and again
// under fio write+verify; not one I/O may fail. The stress run boots sid for it; a kernel
// without QUIESCE must refuse by name, and the test says which branch it took.
import { afterEach, describe, expect, it } from 'vitest';
import { cleanUp, fioWriteVerify, leftovers, listedDevice, tsublk } from '../vm/cli.js';

const cycles = Number(process.env['TSUBLK_STRESS_CYCLES'] ?? 20);
const features = JSON.parse(tsublk('features', '--json').stdout) as { kernel: string; names: string[] };
const quiesce = features.names.includes('QUIESCE');

afterEach(() => {
  cleanUp();
  expect(leftovers()).toEqual({ devices: [], daemons: [], runFiles: [] });
});

describe(`tsublk restart on ${features.kernel} (${quiesce ? 'has QUIESCE' : 'lacks QUIESCE: refused by name'})`, () => {
  it(`${cycles} restarts under fio write+verify: 0 errors, every block verified`, async () => {
    expect(tsublk('add', '-t', 'memory', '-n', '0', '--size', '256M', '-q', '2', '-r', '1').status).toBe(0);
    if (!quiesce) {
      expect(tsublk('restart', '-n', '0').stderr).toMatch(/lacks UBLK_F_QUIESCE, which Linux 6\.16 brought/);
      return;
    }
    // Paced so that writing the 256 MiB once (what verify allows) outlasts 20 restarts of
    // ~3 s each (each holds I/O for a second or two): ~80 s.
    const finished = fioWriteVerify('/dev/ublkb0', {
      iodepth: 32,
      size: '256M',
      rate_iops: Math.ceil(65536 / (cycles * 4)),
    });
    const times: number[] = [];
    const pids = new Set<number>();
    for (let cycle = 0; cycle < cycles; cycle++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const started = Date.now();
      const result = tsublk('restart', '-n', '0');
      times.push(Date.now() - started);
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      pids.add(listedDevice<{ daemon_pid: number }>(0)?.daemon_pid ?? 0);
    }
    const { status, job } = await finished; // fio verifies every block it wrote, after the last write
    expect(status).toBe(0);
    const sorted = [...times].sort((a, b) => a - b);
    console.log(
      `${cycles} restarts: ms min ${sorted[0]} median ${sorted[sorted.length >> 1]} max ${sorted.at(-1)}; fio wrote ${job?.write.io_bytes} bytes and verified ${job?.read.io_bytes}, errors ${job?.error}`,
    );
    expect(job?.error).toBe(0);
    expect(job?.write.io_bytes).toBe(256 * 2 ** 20);
    expect(job?.read.io_bytes).toBe(256 * 2 ** 20); // every block written was verified
    expect(pids.size).toBe(cycles);
  });
});
