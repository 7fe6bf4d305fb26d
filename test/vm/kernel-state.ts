// The kernel's own view of a device, asked from the test process (no CLI start per poll, which
// takes seconds under TCG): for tests that wait for a state change.
import { stateName } from '../../src/cli/devices.js';
import { ControlDevice } from '../../src/ublk/control.js';
import type { DeviceInfo } from '../../src/ublk/device-info.js';

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
  for (;;) {
    const now = stateName(kernelDeviceInfo(devId).state);
    if (now === state) return Date.now() - start;
    if (Date.now() - start > withinMs) throw new Error(`device ${devId} is ${now}, not ${state}, after ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The pid of the daemon serving the device, as the kernel knows it. */
export function daemonPid(devId: number): number {
  return kernelDeviceInfo(devId).ublksrvPid;
}
