// Power cuts of a null device with a write cache under ext4: shared by the in-VM suite (a few
// cycles) and test:stress (many).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { ok, run, tsublk } from './cli.js';

export interface PowerCutCycle {
  /** What fsck said after the journal was replayed. */
  readonly fsck: string;
  /** fio exited non-zero: its writes failed once the power was off. */
  readonly fioErrored: boolean;
}

/**
 * mkfs.ext4 on /dev/ublkb<devId> (a null device with memory_backed and cache_size), then
 * `cycles` times: mount, fio writing files with fsync, power off mid-run, unmount, power on,
 * mount (the journal replays) and unmount, `fsck.ext4 -fn` must be clean.
 */
export async function ext4PowerCuts(devId: number, cycles: number): Promise<PowerCutCycle[]> {
  const device = `/dev/ublkb${devId}`;
  ok('mkfs.ext4', '-q', '-F', device);
  const mountPoint = mkdtempSync(path.join(os.tmpdir(), 'tsublk-power-'));
  const results: PowerCutCycle[] = [];
  try {
    for (let cycle = 0; cycle < cycles; cycle++) {
      ok('mount', device, mountPoint);
      const fio = spawn(
        'fio',
        [
          '--name=pc',
          `--directory=${mountPoint}`,
          '--rw=randwrite',
          '--bs=4k',
          '--size=16M',
          '--numjobs=2',
          '--fsync=4',
          '--ioengine=psync',
          '--time_based',
          '--runtime=60',
          '--verify_state_save=0',
        ],
        { stdio: 'ignore', cwd: os.tmpdir() },
      );
      const exited = new Promise<number | null>((resolve) => fio.once('exit', (code) => resolve(code)));
      // The cut lands at a different moment of the run each cycle.
      await new Promise((resolve) => setTimeout(resolve, 2000 + (cycle % 4) * 500));
      expect(tsublk('power', '-n', String(devId), 'off').status).toBe(0);
      const timer = setTimeout(() => fio.kill('SIGKILL'), 20_000);
      const fioStatus = await exited;
      clearTimeout(timer);
      expect(run('umount', [mountPoint]).status).toBe(0);
      expect(tsublk('power', '-n', String(devId), 'on').status).toBe(0);
      ok('mount', device, mountPoint); // replays the journal
      ok('umount', mountPoint);
      const fsck = run('fsck.ext4', ['-fn', device]);
      expect(fsck.status, `cycle ${cycle}: fsck.ext4 -fn: ${fsck.stdout}${fsck.stderr}`).toBe(0);
      results.push({ fsck: fsck.stdout.trim().split('\n').pop() ?? '', fioErrored: fioStatus !== 0 });
    }
  } finally {
    run('umount', [mountPoint]);
    rmSync(mountPoint, { recursive: true, force: true });
  }
  return results;
}
