// Unprivileged devices (UBLK_F_UNPRIVILEGED_DEV): two ordinary users, each with their own device.
// The VM runs no udev, so `tsublk udev --watch` (root) does what tsublk's udev rule does.
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Run, cleanUp, leftovers, run, tsublk, tsublkBin } from './cli.js';

const alice = 2001;
const bob = 2002;

/** Runs tsublk as an ordinary user (no capabilities, no supplementary groups). */
function as(uid: number, ...args: string[]): Run {
  return run('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', process.execPath, tsublkBin, ...args], {
    env: { HOME: '/tmp', TMPDIR: '/tmp' },
  });
}

function asOk(uid: number, ...args: string[]): string {
  const result = as(uid, ...args);
  if (result.status !== 0)
    throw new Error(`uid ${uid}: tsublk ${args.join(' ')} exited ${result.status}: ${result.stderr.trim()}`);
  return result.stdout;
}

let watcher: ChildProcess;
let controlMode: number;

beforeAll(() => {
  controlMode = statSync('/dev/ublk-control').mode & 0o777;
  chmodSync('/dev/ublk-control', 0o666); // what tsublk's udev rule does
  watcher = spawn(process.execPath, [tsublkBin, 'udev', '--watch'], { stdio: ['ignore', 'ignore', 'inherit'] });
});

afterAll(async () => {
  cleanUp();
  watcher.kill('SIGTERM');
  await new Promise((resolve) => watcher.once('exit', resolve));
  chmodSync('/dev/ublk-control', controlMode);
  expect(leftovers()).toEqual({ devices: [], daemons: [], runFiles: [] });
});

describe('tsublk add --unprivileged', () => {
  it('gives each user their own device, which the other can neither use, see nor delete', () => {
    const add = as(alice, 'add', '-t', 'null', '--unprivileged', '-n', '3', '--size', '64M', '--json');
    expect(add.stderr).toBe('');
    expect(add.status).toBe(0);
    const device = (
      JSON.parse(add.stdout) as Array<{ owner: { uid: number }; flag_names: string[]; state: string }>
    )[0];
    expect(device?.owner.uid).toBe(alice);
    expect(device?.flag_names).toContain('UNPRIVILEGED_DEV');
    expect(device?.state).toBe('LIVE');
    expect(statSync('/dev/ublkb3').uid).toBe(alice);

    // Alice's I/O goes through her own daemon, which runs as her.
    const write = run('setpriv', [
      `--reuid=${alice}`,
      `--regid=${alice}`,
      '--clear-groups',
      'dd',
      'if=/dev/zero',
      'of=/dev/ublkb3',
      'bs=64k',
      'count=16',
      'oflag=direct',
    ]);
    expect(write.stderr).toMatch(/1048576 bytes/);
    expect(write.status).toBe(0);
    const pid = Number(/daemon pid (\d+)/.exec(asOk(alice, 'list', '-n', '3'))?.[1]);
    expect(statSync(`/proc/${pid}`).uid).toBe(alice);
    expect(readdirSync(`/tmp/tsublk-${alice}`)).toContain('3.json');

    // Bob: no access to her disk, her device is not in his list, and he cannot delete it.
    const read = run('setpriv', [
      `--reuid=${bob}`,
      `--regid=${bob}`,
      '--clear-groups',
      'dd',
      'if=/dev/ublkb3',
      'of=/dev/null',
      'count=1',
    ]);
    expect(read.status).not.toBe(0);
    expect(read.stderr).toMatch(/Permission denied/);
    expect(asOk(bob, 'list')).not.toMatch(/dev id 3:/);
    const bobDel = as(bob, 'del', '-n', '3');
    expect(bobDel.status).toBe(1);
    expect(bobDel.stderr.trim()).toBe('tsublk: device 3 is not yours (EACCES): only its owner or root can delete it');
    expect(as(bob, 'del', '-a').status).toBe(0); // deletes nothing of Alice's
    expect(existsSync('/dev/ublkb3')).toBe(true);

    // Bob's own device next to hers; root sees both.
    expect(as(bob, 'add', '-t', 'null', '--unprivileged', '-n', '4', '--size', '64M').status).toBe(0);
    const all = tsublk('list');
    expect(all.status).toBe(0);
    expect(all.stdout).toMatch(new RegExp(`dev id 3:[^]*owner: ${alice}:${alice}`));
    expect(all.stdout).toMatch(new RegExp(`dev id 4:[^]*owner: ${bob}:${bob}`));

    // Each deletes their own: nothing left, not even their run files.
    expect(as(alice, 'del', '-n', '3').status).toBe(0);
    expect(as(bob, 'del', '-a').status).toBe(0);
    expect(leftovers().devices).toEqual([]);
    expect(readdirSync(`/tmp/tsublk-${alice}`)).toEqual([]);
  });

  it('refuses user copy and recovery flags, which the kernel withholds from unprivileged devices', () => {
    const result = as(alice, 'add', '-t', 'null', '--unprivileged', '-r', '1');
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe(
      'tsublk: -r, -e and -i need a privileged device: the kernel gives unprivileged devices no recovery; leave them out or run as root',
    );
  });

  it("root can delete a user's device", () => {
    expect(as(alice, 'add', '-t', 'null', '--unprivileged', '-n', '5', '--size', '64M').status).toBe(0);
    expect(tsublk('del', '-n', '5').status).toBe(0);
    expect(leftovers().devices).toEqual([]);
  });
});
