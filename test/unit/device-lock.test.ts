import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { deviceLockName, withDeviceLock } from '../../src/cli/device-lock.js';

describe('withDeviceLock', () => {
  it('lets one command at a time work on a device id, and frees the id when it is done', async () => {
    let release: () => void = () => undefined;
    const holding = withDeviceLock(90_001, () => new Promise<string>((resolve) => (release = () => resolve('first'))));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await expect(withDeviceLock(90_001, () => Promise.resolve('second'))).rejects.toThrow(
      'device 90001 is busy: another tsublk add, recover or del is working on it; try again when it has finished',
    );
    await expect(withDeviceLock(90_002, () => Promise.resolve('other id'))).resolves.toBe('other id');
    release();
    await expect(holding).resolves.toBe('first');
    await expect(withDeviceLock(90_001, () => Promise.resolve('after'))).resolves.toBe('after');
  });

  it('frees the id when the action fails', async () => {
    await expect(withDeviceLock(90_003, () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(withDeviceLock(90_003, () => Promise.resolve(1))).resolves.toBe(1);
  });

  it('is the lock that earlier versions took through node:net, both ways: either one holding it refuses the other', async () => {
    const earlier = createServer().listen({ path: deviceLockName(90_004) });
    await new Promise((resolve) => earlier.once('listening', resolve));
    await expect(withDeviceLock(90_004, () => Promise.resolve('while held'))).rejects.toThrow('device 90004 is busy');
    await new Promise((resolve) => earlier.close(resolve));

    await withDeviceLock(90_004, async () => {
      const refused = createServer();
      const error = await new Promise<NodeJS.ErrnoException>((resolve) => {
        refused.once('error', resolve);
        refused.listen({ path: deviceLockName(90_004) });
      });
      expect(error.code).toBe('EADDRINUSE');
    });
  });
});
