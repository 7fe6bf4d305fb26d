// The loop target's test ground, shared by its serving and refusal files: brd's ram0 carries an
// ext4 (O_DIRECT works there, unlike tmpfs) that holds the image files; ram1 is served raw.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { type DeviceIds, cleanUp, leftovers, nothingLeft, ok, run, tsublk } from './cli.js';

export const fsDir = '/mnt/tsublk-loop';
export const image = `${fsDir}/disk.img`;

/** Loads brd (two 256 MiB RAM disks) where it is not, and mounts a fresh ext4 on ram0 at fsDir; its undoing. */
function mountLoopDisk(): () => void {
  const loadedBrd = !existsSync('/dev/ram1');
  if (loadedBrd) ok('modprobe', 'brd', 'rd_nr=2', 'rd_size=262144');
  ok('mkfs.ext4', '-q', '-F', '/dev/ram0');
  mkdirSync(fsDir, { recursive: true });
  ok('mount', '/dev/ram0', fsDir);
  return () => {
    run('umount', [fsDir]);
    if (loadedBrd) run('rmmod', ['brd']);
  };
}

/**
 * A test file's hooks: the disk mounted before its tests and unmounted after them; after each
 * test, its devices (all, or those of `ids`) and image removed, and nothing of tsublk left.
 */
export function useLoopDisk(ids?: DeviceIds): void {
  let unmount = (): void => undefined;
  beforeAll(() => {
    unmount = mountLoopDisk();
  });
  afterAll(() => {
    cleanUp(ids);
    unmount();
  });
  afterEach(() => {
    cleanUp(ids);
    rmSync(image, { force: true });
    expect(leftovers(ids)).toEqual(nothingLeft);
  });
}

/** A sparse image of `mib` MiB on the ext4. */
export function makeImage(mib: number, file = image): void {
  ok('truncate', '-s', `${mib}M`, file);
}

/** `tsublk add -t loop …`, which must succeed without a word on stderr. */
export function addLoop(...args: string[]): void {
  const result = tsublk('add', '-t', 'loop', ...args);
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
}
