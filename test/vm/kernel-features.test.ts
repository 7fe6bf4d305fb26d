import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type DeviceIds,
  cleanUp,
  kernelFeatures,
  leftovers,
  listedDevice,
  nothingLeft,
  ok,
  run,
  tsublk,
} from './cli.js';
import { daemonPid, waitForState } from './kernel-state.js';

// Runs on every guest kernel (npm test runs the suite on trixie's 6.12 and on sid's newest): what
// a kernel offers, tsublk uses; what it lacks, tsublk refuses by name.
const ids: DeviceIds = { first: 90, last: 99 };

afterEach(() => {
  cleanUp(ids);
  expect(leftovers(ids)).toEqual(nothingLeft);
});

const features = (): string[] => kernelFeatures().names;

describe(`ublk features of this kernel`, () => {
  it('serves a null device with fio and 0 errors', () => {
    expect(tsublk('add', '-t', 'null', '-n', '90', '--size', '1G').status).toBe(0);
    const output = ok(
      'fio',
      '--name=t',
      '--filename=/dev/ublkb90',
      '--rw=randrw',
      '--bs=4k',
      '--direct=1',
      '--ioengine=io_uring',
      '--iodepth=16',
      '--numjobs=2',
      '--time_based',
      '--runtime=1', // an error shows at once: a longer run costs npm test's budget
      '--group_reporting',
      '--output-format=json',
    );
    const job = (
      JSON.parse(output.slice(output.indexOf('{'))) as { jobs: Array<{ error: number; read: { total_ios: number } }> }
    ).jobs[0];
    expect(job?.error).toBe(0);
    expect(job?.read.total_ios).toBeGreaterThan(0);
  });

  it('-e 1 (USER_RECOVERY_FAIL_IO) reaches the kernel where it exists, and is refused by name where not', async () => {
    const add = tsublk('add', '-t', 'null', '-n', '91', '--size', '1G', '-e', '1');
    if (features().includes('USER_RECOVERY_FAIL_IO')) {
      expect(add.status, add.stderr).toBe(0);
      expect((add.stdout.split('\n')[2] ?? '').split(/[[\] ]+/)).toContain('USER_RECOVERY_FAIL_IO');
      expect(existsSync('/dev/ublkb91')).toBe(true);
      // The daemon dies: I/O fails at once with EIO (FAIL_IO), and works again after recover.
      process.kill(daemonPid(91), 'SIGKILL');
      // The kernel's state, polled from this process (a tsublk list start per poll takes ~0.5 s).
      await waitForState(91, 'FAIL_IO', 5000);
      expect(listedDevice<{ state: string }>(91)?.state).toBe('FAIL_IO'); // and list says so
      const started = Date.now();
      const failed = run('dd', ['if=/dev/ublkb91', 'of=/dev/null', 'bs=4k', 'count=1', 'iflag=direct']);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(failed.status).not.toBe(0);
      expect(failed.stderr).toMatch(/Input\/output error|Remote I\/O error/); // 7.x fails them with EREMOTEIO
      expect(tsublk('recover', '-n', '91').status).toBe(0);
      expect(run('dd', ['if=/dev/ublkb91', 'of=/dev/null', 'bs=4k', 'count=1', 'iflag=direct']).status).toBe(0);
    } else {
      expect(add.status).toBe(1);
      expect(add.stderr).toMatch(/lacks UBLK_F_USER_RECOVERY_FAIL_IO, which Linux 6.13 brought/);
    }
  });
});
