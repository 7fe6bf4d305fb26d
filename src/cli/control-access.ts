import { ControlCommandError, ControlDevice } from '../ublk/control.js';
import type { DeviceInfo } from '../ublk/device-info.js';
import { UblkError } from '../ublk/errors.js';

/** True for the kernel's answer to a command on another user's device. */
export function notOurs(error: unknown): boolean {
  return error instanceof ControlCommandError && (error.code === 'EACCES' || error.code === 'EPERM');
}

/** A command on another user's device, refused by the kernel. */
export class NotYoursError extends UblkError {}

export function notOursError(devId: number, error: ControlCommandError, action: string): NotYoursError {
  return new NotYoursError(`device ${devId} is not yours (${error.code}): only its owner or root can ${action} it`);
}

/** Runs `action` with /dev/ublk-control open, and closes it. */
export function withControl<T>(action: (control: ControlDevice) => T): T {
  const control = ControlDevice.open();
  try {
    return action(control);
  } finally {
    control.close();
  }
}

/** Device `devId`'s info, for `action` on it: a missing device or another user's says so in one line. */
export function deviceInfoFor(control: ControlDevice, devId: number, action: string): DeviceInfo {
  try {
    return control.getDeviceInfo(devId);
  } catch (error) {
    if (error instanceof ControlCommandError && error.code === 'ENODEV')
      throw new UblkError(`no ublk device ${devId}: see tsublk list`);
    if (notOurs(error)) throw notOursError(devId, error as ControlCommandError, action);
    throw error;
  }
}
