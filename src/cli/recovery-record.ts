import { readFileSync } from 'node:fs';
import { UblkError } from '../ublk/errors.js';
import { type RunRecord, parseRunRecord, runFilePath } from '../ublk/run-file.js';
import type { AddPlan } from './plan.js';

/** The dead daemon's record, checked: `recover` rebuilds the target from it. */
export function recordForRecovery(devId: number): RunRecord<AddPlan> {
  const file = runFilePath(devId);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new UblkError(
      `${file} is missing: recover needs it to rebuild the device's target; delete the device with tsublk del -n ${devId}`,
    );
  }
  try {
    return parseRunRecord<AddPlan>(text);
  } catch (error) {
    throw new UblkError(
      `${file} is corrupt (${(error as Error).message}): recover cannot rebuild the device's target from it; delete the device with tsublk del -n ${devId}`,
    );
  }
}
