// A soak loop for npm run test:stress (in the VM): ext4 on a null device with a write cache
// through power cuts (`tsublk power off` mid-write), fsck clean after every one.
import { afterEach, describe, expect, it } from 'vitest';
import { cleanUp, leftovers, tsublk } from '../vm/cli.js';
import { ext4PowerCuts } from '../vm/power-cut.js';

const cycles = Number(process.env['TSUBLK_STRESS_CYCLES'] ?? 20);

afterEach(() => {
  cleanUp();
  expect(leftovers()).toEqual({ devices: [], daemons: [], runFiles: [] });
});

describe('power cuts', () => {
  it(`ext4 under fio with fsync survives ${cycles} power cuts of a cached device (2 queues)`, async () => {
    expect(
      tsublk('add', '-t', 'null', '-n', '0', '-q', '2', '--size', '512M', '--memory_backed', '1', '--cache_size', '64')
        .status,
    ).toBe(0);
    const results = await ext4PowerCuts(0, cycles);
    process.stdout.write(
      `power cuts: ${results.length} cycles, fsck clean after each; fio saw the cut (non-zero exit) in ${results.filter((r) => r.fioErrored).length}\n`,
    );
    expect(results).toHaveLength(cycles);
  }, 3_600_000);
});
