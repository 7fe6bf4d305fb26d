import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { deviceLogPath } from '../ublk/device-log.js';
import { UblkError } from '../ublk/errors.js';
import { runFilePath } from '../ublk/run-file.js';
import { printErr, printOut } from './output.js';
import { everyInterval } from './watch.js';

const FOLLOW_INTERVAL_MS = 250;

/** Prints the file's bytes from `offset` on; returns the offset after them. */
function printFrom(file: string, offset: number): number {
  const fd = openSync(file, 'r');
  try {
    const chunk = Buffer.alloc(64 * 1024);
    for (;;) {
      const got = readSync(fd, chunk, 0, chunk.length, offset);
      if (got === 0) return offset;
      printOut(chunk.subarray(0, got).toString('utf8'));
      offset += got;
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * `log -n ID [-f]`: the device's log (its daemon's events and every target failure, with
 * stacks). `-f` prints what is added until SIGINT or until the device is deleted.
 */
export async function showLog(devId: number, follow: boolean): Promise<void> {
  const file = deviceLogPath(devId);
  if (!existsSync(file))
    throw new UblkError(
      `device ${devId} has no log (${file}): is it a tsublk device that is running? (tsublk list -n ${devId})`,
    );
  let offset = printFrom(file, 0);
  if (!follow) return;
  await everyInterval(FOLLOW_INTERVAL_MS, () => {
    if (!existsSync(runFilePath(devId))) {
      if (existsSync(file)) printFrom(file, offset); // its last words
      printErr(`tsublk: device ${devId} is gone\n`);
      return false;
    }
    if (!existsSync(file)) return true;
    if (statSync(file).size < offset) offset = 0; // rotated: the new file starts over
    offset = printFrom(file, offset);
    return true;
  });
}
