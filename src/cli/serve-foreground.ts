import type { AddPlan } from './plan.js';
import { serve } from './serve.js';
import { printDescription } from './device-description.js';
import { printErr } from './output.js';
import { echoDeviceLogsToStderr } from '../ublk/device-log.js';

/** `add --foreground`: serve here until SIGINT/SIGTERM, printing the device once it is LIVE and its log to stderr. */
export async function addForeground(plan: AddPlan, json: boolean): Promise<number> {
  echoDeviceLogsToStderr(); // under a supervisor, stderr is the journal
  return serve(plan, (status) => {
    if (!status.ok) printErr(`tsublk: ${status.error}\n`);
    else printDescription(status.device, json);
  });
}
