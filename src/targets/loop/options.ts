import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { TargetPlanner } from '../../blk/target-plan.js';
import type { LoopConfig } from './config.js';

/**
 * The loop target's options, named as the C ublk utility's loop target names them
 * (`ublk add -t loop -f FILE --buffered_io --offset N`), so its scripts run unchanged.
 */
export const loopPlanner: TargetPlanner = {
  name: 'loop',
  heading: 'loop target (a file or block device behind the disk, like the kernel loop driver):',
  options: [
    {
      name: 'file',
      alias: 'f',
      kind: 'string',
      describe: 'the regular file or block device to serve',
      valid: (v) => v !== '',
      fix: 'name it: -f /var/lib/disk.img or -f /dev/sdX',
    },
    {
      name: 'buffered_io',
      kind: 'boolean',
      describe: "use the page cache (default: O_DIRECT where the file's filesystem has it)",
      defaultValue: false,
    },
    {
      name: 'offset',
      kind: 'number',
      describe: 'serve the file from this byte on (a multiple of the block size)',
      defaultValue: 0,
      valid: (v) => Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) % 512 === 0,
      fix: 'use --offset in bytes, 0 or a multiple of 512 (of the block size, with O_DIRECT)',
    },
    {
      name: 'read_only',
      kind: 'boolean',
      describe: 'a read-only disk (the file is opened read-only)',
      defaultValue: false,
    },
  ],
  plan(values, common) {
    const given = values['file'];
    if (given === undefined)
      throw new Error('the loop target serves a file: add -f FILE (a regular file or a block device)');
    const file = path.resolve(String(given));
    // The daemon checks again when it opens the file; these refusals come before any device exists.
    if (!existsSync(file)) throw new Error(`${file} does not exist: give -f an existing file or block device`);
    const stat = statSync(file);
    if (stat.isDirectory()) throw new Error(`${file} is a directory: give -f a regular file or a block device`);
    if (!stat.isFile() && !stat.isBlockDevice())
      throw new Error(`${file} is neither a regular file nor a block device: give -f one of those`);
    const config: LoopConfig = {
      // 0: the file's size less the offset, found when the daemon opens it.
      sizeBytes: common.sizeBytes ?? 0,
      logicalBlockSize: common.logicalBlockSize,
      blockSizeGiven: common.logicalBlockSizeGiven,
      file,
      offset: Number(values['offset'] ?? 0),
      bufferedIo: values['buffered_io'] === true,
      readOnly: values['read_only'] === true,
    };
    // File I/O into the request's own buffer: the per-tag buffers of the copy data path, or with
    // -z the request's own pages, which the kernel registers in the queue's ring (zero copy).
    return { config, dataPath: 'copy', zeroCopy: true };
  },
};
