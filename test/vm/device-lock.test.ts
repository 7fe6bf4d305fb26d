// Commands on one device take turns: a del or recover while another tsublk command holds the
// device's lock is refused in one line, and the device serves on (the lock is an abstract socket).
import { afterEach, describe, expect, it } from 'vitest';
import { withDeviceLock } from '../../src/cli/device-lock.js';
import { cleanUp, leftovers, listedDevice, tsublk } from './cli.js';

afterEach(() => {
  cleanUp();
  expect(leftovers()).toEqual({ devices: [], daemons: [], runFiles: [] });
});

describe('the device lock', () => {
  it('refuses a recover or del racing another command on the same device', async () => {
    expect(tsublk('add', '-t', 'null', '-n', '4', '-r', '1').status).toBe(0);
    // Another tsublk command holds device 4's lock (its abstract socket) while these run.
    let release = (): void => undefined;
    const holding = withDeviceLock(4, () => new Promise<void>((resolve) => (release = resolve)));
    try {
      for (const command of [
        ['del', '-n', '4'],
        ['recover', '-n', '4'],
      ]) {
        const result = tsublk(...command);
        expect(result.status).toBe(1);
        expect(result.stderr.trim()).toBe(
          'tsublk: device 4 is busy: another tsublk add, recover or del is working on it; try again when it has finished',
        );
      }
      expect(listedDevice<{ state: string }>(4)?.state).toBe('LIVE');
    } finally {
      release();
      await holding;
    }
    expect(tsublk('del', '-n', '4').status).toBe(0);
  });
});
