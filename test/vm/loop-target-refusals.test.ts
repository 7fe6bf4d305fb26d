// The loop target refuses what it cannot serve: one line naming the problem and the fix, nothing
// left behind (the CLI's checks and the daemon's).
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type Run, leftovers, ok, run, tsublk, tsublkAsync, tsublkBin } from './cli.js';
import { addLoop, fsDir, image, makeImage, useLoopDisk } from './loop-disk.js';

useLoopDisk();

describe('tsublk add -t loop refuses bad input in one line, leaving nothing', () => {
  const expectRefused = (result: Run, args: string[], message: string): void => {
    expect(result.status, args.join(' ')).toBe(1);
    expect(result.stderr.trim()).toBe(`tsublk: ${message}`);
    expect(leftovers()).toEqual({ devices: [], daemons: [], runFiles: [] });
  };
  const refused = (args: string[], message: string): void =>
    expectRefused(tsublk('add', '-t', 'loop', ...args), args, message);

  it('no file, a missing one, a directory, a size past its end, a misaligned offset, one another device serves', async () => {
    // Side by side where no image is opened; one after another where one is: adds of one image
    // side by side would see each other's claim on it.
    const noImage: Array<[string[], string]> = [
      [[], 'the loop target serves a file: add -f FILE (a regular file or a block device)'],
      [['-f', `${fsDir}/nope.img`], `${fsDir}/nope.img does not exist: give -f an existing file or block device`],
      [['-f', fsDir], `${fsDir} is a directory: give -f a regular file or a block device`],
    ];
    const results = await Promise.all(noImage.map(([args]) => tsublkAsync('add', '-t', 'loop', ...args)));
    noImage.forEach(([args, message], at) =>
      expectRefused(results[at] ?? { status: null, stdout: '', stderr: '' }, args, message),
    );
    makeImage(16);
    refused(
      ['-f', image, '--size', '32M'],
      `--size 33554432 is larger than ${image} (16777216 bytes): leave --size out to use the whole file, or give a smaller one`,
    );
    refused(
      ['-f', image, '--offset', '1000'],
      'bad --offset 1000: use --offset in bytes, 0 or a multiple of 512 (of the block size, with O_DIRECT)',
    );
    refused(
      ['-f', image, '--offset', '512', '--bs', '4096'],
      '--offset 512 is not a multiple of the block size (4096): use a multiple of it',
    );
    addLoop('-f', image, '-n', '6');
    const again = tsublk('add', '-t', 'loop', '-f', image);
    expect(again.stderr.trim()).toBe(
      `tsublk: ${image} is served by another tsublk device: pick another file, or delete that device first`,
    );
    expect(tsublk('del', '-n', '6').status).toBe(0);
  });

  it('a read-only file without --read_only', () => {
    const roDir = '/mnt/tsublk-loop-ro';
    mkdirSync(roDir, { recursive: true });
    ok('mount', '-t', 'tmpfs', '-o', 'size=32M', 'tsublk-ro', roDir);
    try {
      ok('truncate', '-s', '8M', `${roDir}/ro.img`);
      ok('mount', '-o', 'remount,ro', roDir);
      refused(
        ['-f', `${roDir}/ro.img`],
        `${roDir}/ro.img is read-only (EROFS): add --read_only to serve it as a read-only disk`,
      );
      addLoop('-f', `${roDir}/ro.img`, '-n', '7', '--read_only');
      expect(tsublk('del', '-n', '7').status).toBe(0);
    } finally {
      run('umount', [roDir]);
    }
  });

  it('a file the daemon may not open (an unprivileged device, a root-only file)', async () => {
    makeImage(16);
    chmodSync(image, 0o600);
    const controlMode = statSync('/dev/ublk-control').mode & 0o777;
    chmodSync('/dev/ublk-control', 0o666); // what tsublk's udev rule does
    const watcher: ChildProcess = spawn(process.execPath, [tsublkBin, 'udev', '--watch'], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    try {
      const result = run(
        'setpriv',
        [
          '--reuid=2001',
          '--regid=2001',
          '--clear-groups',
          process.execPath,
          tsublkBin,
          'add',
          '-t',
          'loop',
          '-f',
          image,
          '--unprivileged',
        ],
        { env: { HOME: '/tmp', TMPDIR: '/tmp' } },
      );
      expect(result.status).toBe(1);
      expect(result.stderr.trim()).toBe(
        `tsublk: the daemon (uid 2001) may not open ${image} (EACCES): give it access, or serve a file it may open`,
      );
    } finally {
      watcher.kill('SIGTERM');
      await new Promise((resolve) => watcher.once('exit', resolve));
      chmodSync('/dev/ublk-control', controlMode);
    }
  });
});
