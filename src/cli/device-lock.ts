import { type Server, createServer } from 'node:net';
import { UblkError } from '../ublk/errors.js';

/**
 * The name of a device id's lock: an abstract Unix socket, so the kernel releases it when its
 * holder exits however it exits, and nothing is ever left on disk.
 */
export function deviceLockName(devId: number): string {
  return `\0tsublk-device-${devId}`;
}

function bind(name: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ path: name }, () => resolve(server));
  });
}

/**
 * Runs `action` holding device `devId`'s lock: `add -n`, `recover` and `del` on the same id never
 * interleave. A second one gets a one-line error at once rather than waiting or racing.
 */
export async function withDeviceLock<T>(devId: number, action: () => Promise<T>): Promise<T> {
  let server: Server;
  try {
    server = await bind(deviceLockName(devId));
  } catch (error) {
    if ((error as { code?: string }).code === 'EADDRINUSE') {
      throw new UblkError(
        `device ${devId} is busy: another tsublk add, recover or del is working on it; try again when it has finished`,
      );
    }
    throw error;
  }
  server.unref();
  try {
    return await action();
  } finally {
    server.close();
  }
}
