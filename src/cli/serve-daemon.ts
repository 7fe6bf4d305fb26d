// The daemon side of `add` and `recover` (daemon-main.ts): check, serve, and report once on fd 3.
import { createWriteStream } from 'node:fs';
import { UBLK_S_DEV } from '../../native-bindings/ublk_cmd.js';
import { UblkError } from '../ublk/errors.js';
import { deviceInfoFor, withControl } from './control-access.js';
import { stateName } from './devices.js';
import type { AddPlan } from './plan.js';
import { recordForRecovery } from './recovery-record.js';
import { type ServeStatus, serve } from './serve.js';
import { processAlive } from './system.js';
import { saveCodeCache } from './code-cache.js';
import type { QueueWorkerPool } from '../ublk/queue-workers.js';

/** Checks that device `devId` is one to recover: it exists, is ours, and its daemon died. */
function checkRecoverable(devId: number): void {
  const info = withControl((control) => deviceInfoFor(control, devId, 'recover'));
  if (info.state === UBLK_S_DEV.LIVE && processAlive(info.ublksrvPid))
    throw new UblkError(`device ${devId} is LIVE, served by pid ${info.ublksrvPid}: nothing to recover`);
  if (info.state !== UBLK_S_DEV.QUIESCED && info.state !== UBLK_S_DEV.FAIL_IO) {
    throw new UblkError(
      `device ${devId} is ${stateName(info.state)}: only a device added with -r 1 or -e 1 whose daemon died can be recovered; delete it with tsublk del -n ${devId}`,
    );
  }
}

/** Serves `plan`, or recovers device `recoverId`, reporting once on fd 3; resolves with the exit status. */
export async function serveDaemon(
  plan: AddPlan | null,
  recoverId: number | null,
  workers: QueueWorkerPool,
): Promise<number> {
  const statusStream = createWriteStream('', { fd: 3 });
  const report = (status: ServeStatus): void => {
    workers.release(); // LIVE or failed, a worker no queue took has nothing to serve
    // Once the report is out, what this start compiled is kept for the next (code-cache.ts).
    statusStream.end(JSON.stringify(status) + '\n', saveCodeCache);
  };
  if (recoverId === null) return serve(plan as AddPlan, report, null, workers);
  let record;
  try {
    checkRecoverable(recoverId);
    record = recordForRecovery(recoverId);
  } catch (error) {
    report({ ok: false, error: (error as Error).message });
    return 1;
  }
  return serve(record.plan, report, { devId: recoverId, targetConfig: record.target.config }, workers);
}
