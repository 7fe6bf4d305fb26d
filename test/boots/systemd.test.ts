// tsublk@.service under a real systemd: the host boots the VM twice with systemd as PID 1
// (npm run vm -- --init systemd), the second boot over what the first left of /etc (--layer), as a
// machine reboots from its disk. The guest's steps are systemd-guest.sh; its facts come back as
// key=value lines on stdout, checked here.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const project = path.resolve(import.meta.dirname, '../..');
const guestScript = path.join(import.meta.dirname, 'systemd-guest.sh');

/** Boots the VM with systemd and runs one phase of the guest script; its facts by key. */
async function boot(phase: 'boot1' | 'boot2', dir: string): Promise<Map<string, string>> {
  const args = ['dist/vm/cli.js', '--init', 'systemd', '--timeout', '600'];
  if (phase === 'boot2') args.push('--layer', path.join(dir, 'root'));
  args.push('--', 'bash', guestScript, phase, dir);
  const child = spawn(process.execPath, args, { cwd: project, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const status = await new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  expect(status, `${phase} exited ${status}:\n${stdout}\n${stderr}`).toBe(0);
  console.info(`${phase}:\n${stdout}`);
  return new Map(
    stdout
      .split('\n')
      .filter((line) => /^\w+=/.test(line))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

describe('tsublk@.service under systemd as PID 1', () => {
  mkdirSync(path.join(project, '.cache'), { recursive: true });
  // In the project: the guest sees it at the same path, read-write, and it outlives each boot.
  const dir = mkdtempSync(path.join(project, '.cache', 'systemd-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is READY once LIVE, keeps its data over a restart and a reboot, pings the watchdog, logs to the journal', async () => {
    const first = await boot('boot1', dir);
    expect(first.get('pid1')).toBe('systemd');
    // Before the unit: a backing on 9p (the project's share) is refused in one line, nothing left.
    expect(first.get('on_9p_error')).toBe(
      `tsublk: ${dir}/disk.img is on a filesystem (9p) that cannot map a file shared (mmap: EINVAL): put --backing on a local filesystem (ext4, xfs, btrfs, tmpfs), or serve the file with -t loop`,
    );
    expect(first.get('on_9p_status')).toBe('1');
    expect(first.get('on_9p_file')).toBe('none');
    // `systemctl enable --now` returned: systemd had READY=1, and the device was LIVE by then.
    expect(first.get('started_active')).toBe('active');
    expect(first.get('started_state')).toBe('LIVE');
    expect(first.get('started_status')).toBe('serving /dev/ublkb7 (target memory)');
    // A restart is a new daemon serving the same backing file: the data written before is there.
    expect(first.get('restarted_new_pid')).toBe('yes');
    expect(first.get('restarted_state')).toBe('LIVE');
    expect(first.get('restarted_sum')).toBe(first.get('written_sum'));
    // WatchdogSec=3 and 4 s later still active, never restarted: the pings came.
    expect(first.get('watchdog_usec')).toBe('3s');
    expect(first.get('watchdog_pinged')).toBe('yes');
    expect(first.get('watchdog_active')).toBe('active');
    expect(first.get('restarts')).toBe('0');
    // stderr went to the journal: two starts, and the stop the restart made.
    expect(first.get('journal_live')).toBe('2');
    expect(first.get('journal_stopping')).toBe('1');

    const second = await boot('boot2', dir);
    expect(second.get('pid1')).toBe('systemd');
    expect(second.get('boot_active')).toBe('active');
    expect(second.get('boot_state')).toBe('LIVE');
    expect(second.get('boot_sum')).toBe(first.get('written_sum'));
    // systemctl stop: the daemon deleted its device and left nothing.
    expect(second.get('stopped_state')).toBe('none');
    expect(second.get('stopped_node')).toBe('gone');
  });
});
