import { accessSync, constants as fsConstants } from 'node:fs';
import { UblkError } from './errors.js';

/** The char device through which a device's queues are served, and which names it to the kernel. */
export function charDevicePath(devId: number): string {
  return `/dev/ublkc${devId}`;
}

export function blockDevicePath(devId: number): string {
  return `/dev/ublkb${devId}`;
}

/** How long udev may take to create a node, or to hand an unprivileged device's nodes to its owner. */
const nodeWaitMs = 30_000;

/**
 * Waits until a device node exists and this process may read and write it: at once for root;
 * for an unprivileged device, once udev (tsublk's rule) has given it to its owner.
 */
export async function waitForAccess(path: string, devId: number): Promise<void> {
  const deadline = Date.now() + nodeWaitMs;
  for (;;) {
    try {
      accessSync(path, fsConstants.R_OK | fsConstants.W_OK);
      return;
    } catch (error) {
      const code = (error as { code?: string }).code;
      if ((code !== 'ENOENT' && code !== 'EACCES') || Date.now() > deadline) {
        if (code === 'EACCES') {
          throw new UblkError(
            `${path} stayed root's for ${nodeWaitMs / 1000} s: install tsublk's udev rule (sudo tsublk udev-rules) or run sudo tsublk udev --watch; root can remove device ${devId} with tsublk del -n ${devId}`,
          );
        }
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}
