// The kernel's own view of a device, asked from the test process (no CLI start per poll, which
// takes seconds under TCG): for tests that wait for a state change.
import { readFileSync } from 'node:fs';
import { stateName } from '../../src/cli/devices.js';
import { ControlDevice } from '../../src/ublk/control.js';
import type { DeviceInfo } from '../../src/ublk/device-info.js';
import { pollUntil } from '../support/poll.js';

export function kernelDeviceInfo(devId: number): DeviceInfo {
  const control = ControlDevice.open();
  try {
    return control.getDeviceInfo(devId);
  } finally {
    control.close();
  }
}

/** Polls the device's state (GET_DEV_INFO) until it is `state`; returns how long that took. */
export async function waitForState(devId: number, state: string, withinMs: number): Promise<number> {
  const start = Date.now();
  let now = '';
  if (await pollUntil(() => (now = stateName(kernelDeviceInfo(devId).state)) === state, withinMs))
    return Date.now() - start;
  throw new Error(`device ${devId} is ${now}, not ${state}, after ${withinMs} ms`);
}

/**
 * Polls the block layer's counters (/sys/block/ublkbN/stat: reads and writes completed) until the
 * device has served `ios` requests, for tests that act while I/O is in full flow (not after a
 * fixed sleep, which is either too short on a slow host or wasted on a fast one).
 */
export async function waitForIos(devId: number, ios: number, withinMs: number): Promise<void> {
  let served = 0;
  const counted = (): boolean => {
    const fields = readFileSync(`/sys/block/ublkb${devId}/stat`, 'utf8').trim().split(/\s+/).map(Number);
    served = (fields[0] ?? 0) + (fields[4] ?? 0);
    return served >= ios;
  };
  if (!(await pollUntil(counted, withinMs)))
    throw new Error(`device ${devId} served ${served} requests, not ${ios}, in ${withinMs} ms`);
}

/** The pid of the daemon serving the device, as the kernel knows it. */
export function daemonPid(devId: number): number {
  return kernelDeviceInfo(devId).ublksrvPid;
}
