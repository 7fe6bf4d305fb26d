import type { ControlCommandError } from '../ublk/control.js';
import { UblkError } from '../ublk/errors.js';
import { notOurs, notOursError, withControl } from './control-access.js';
import { type DeviceView, describeDevice, deviceIds, deviceJson, formatDevice } from './devices.js';
import { printOut } from './output.js';

export function printDevices(views: readonly DeviceView[], json: boolean): void {
  if (json) printOut(JSON.stringify(views.map(deviceJson), null, 2) + '\n');
  else for (const view of views) printOut(formatDevice(view) + '\n');
}

/** `list [-n ID] [-v] [--json]`: -v adds each queue's live counters. */
export function list(devId: number, json: boolean, verbose = false): void {
  const views = withControl((control) => {
    const ids = devId >= 0 ? [devId] : deviceIds();
    const found: DeviceView[] = [];
    for (const id of ids) {
      try {
        const view = describeDevice(control, id, verbose);
        if (view !== null) found.push(view);
      } catch (error) {
        // Listing everything, another user's devices are simply not shown.
        if (!notOurs(error)) throw error;
        if (devId >= 0) throw notOursError(id, error as ControlCommandError, 'see');
      }
    }
    if (devId >= 0 && found.length === 0) throw new UblkError(`no ublk device ${devId}: see tsublk list`);
    return found;
  });
  printDevices(views, json);
}
