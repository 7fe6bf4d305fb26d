import { AF, SOCK, SOCKADDR_UN_SIZE, bind, close, socket } from '../../native-bindings/libc.js';
import { SyscallError } from '../../native-bindings/errors.js';
import { UblkError } from '../ublk/errors.js';

/**
 * The name of a device id's lock: an abstract Unix socket, so the kernel releases it when its
 * holder exits however it exits, and nothing is ever left on disk.
 */
export function deviceLockName(devId: number): string {
  return `\0tsublk-device-${devId}`;
}

/**
 * Takes the lock: a socket bound to its name (no listener: the name alone is the lock). Through
 * libc, not node:net, whose load and listen cost a TCG guest's del or recover ~70 ms.
 */
function take(devId: number): number {
  // A whole struct sockaddr_un: the family, then the name NUL-padded to 108 bytes. An abstract
  // name is all of its bytes, and this is the one Node 20's net bound for earlier versions of tsublk.
  const address = Buffer.alloc(SOCKADDR_UN_SIZE);
  address.writeUInt16LE(AF.UNIX, 0);
  Buffer.from(deviceLockName(devId)).copy(address, 2);
  const fd = socket(AF.UNIX, SOCK.STREAM); // close-on-exec: a daemon started meanwhile does not hold it
  try {
    bind(fd, address, `the lock of device ${devId}`);
  } catch (error) {
    close(fd);
    if (error instanceof SyscallError && error.code === 'EADDRINUSE')
      throw new UblkError(
        `device ${devId} is busy: another tsublk add, recover or del is working on it; try again when it has finished`,
      );
    throw error;
  }
  return fd;
}

/**
 * Runs `action` holding device `devId`'s lock: `add -n`, `recover` and `del` on the same id never
 * interleave. A second one gets a one-line error at once rather than waiting or racing.
 */
export async function withDeviceLock<T>(devId: number, action: () => Promise<T>): Promise<T> {
  const fd = take(devId);
  try {
    return await action();
  } finally {
    close(fd);
  }
}
