import { ControlCommandError, ControlDevice } from '../ublk/control.js';
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
