// `quiesce` and `restart` (UBLK_F_QUIESCE, Linux 6.16): a healthy daemon hands its device back
// to the kernel, which holds new I/O, and exits; `restart` then recovers the device with a new
// daemon (the code on disk now, after an upgrade), so no I/O fails across the swap.
import { UBLK_F, UBLK_S_DEV } from '../../native-bindings/ublk_cmd.js';
import { ControlDevice } from '../ublk/control.js';
import { UblkError } from '../ublk/errors.js';
import { deviceInfoFor } from './control-access.js';
import { daemonArgs } from './daemon-args.js';
import { stateName } from './devices.js';
import { withDeviceLock } from './device-lock.js';
import { startDaemon } from './start-daemon.js';
import { processRunning } from './system.js';

/** How long the kernel may take to quiesce (the daemon finishing what it has) and the daemon to exit. */
const QUIESCE_TIMEOUT_MS = 30_000;

/** QUIESCE_DEV, then waits until the old daemon is gone: the device is QUIESCED, I/O held. */
async function quiesceLocked(devId: number): Promise<void> {
  const control = ControlDevice.open();
  try {
    const info = deviceInfoFor(control, devId, 'quiesce');
    if (info.state !== UBLK_S_DEV.LIVE)
      throw new UblkError(`device ${devId} is ${stateName(info.state)}, not LIVE: there is no daemon to replace`);
    control.assertSupported('QUIESCE_DEV');
    if ((info.flags & UBLK_F.QUIESCE) === 0)
      throw new UblkError(
        `device ${devId} was added without recovery (-r 1), so it cannot be quiesced: its daemon can only be stopped (del)`,
      );
    // Linux 7.2 cancels a batch queue's fetches with force_abort set, and fails with EIO every
    // request that reaches the queue until it is quiesced: seen, 5-10 writes per restart under
    // fio at 1,500 IOPS, with -r 1 and with -i 1. A restart must not fail I/O, so it is refused.
    if ((info.flags & UBLK_F.BATCH_IO) !== 0)
      throw new UblkError(
        `device ${devId} uses batch I/O (-b), and this kernel fails with EIO the I/O that arrives while a batch device is quiesced: add it without -b to replace its daemon without failing I/O`,
      );
    control.quiesceDevice(devId, QUIESCE_TIMEOUT_MS);
    const deadline = Date.now() + QUIESCE_TIMEOUT_MS;
    while (processRunning(info.ublksrvPid)) {
      if (Date.now() > deadline)
        throw new UblkError(
          `device ${devId} is quiesced, but its daemon (pid ${info.ublksrvPid}) did not exit within ${QUIESCE_TIMEOUT_MS / 1000} s: kill it, then tsublk recover -n ${devId}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    control.close();
  }
}

/** `quiesce -n ID`: the daemon exits and the device waits QUIESCED, I/O held, for `recover`. */
export function quiesce(devId: number): Promise<void> {
  return withDeviceLock(devId, () => quiesceLocked(devId));
}

/** `restart -n ID`: quiesce, then recover with a new daemon; returns once the device is LIVE again. */
export function restart(devId: number, json: boolean): Promise<number> {
  return withDeviceLock(devId, async () => {
    await quiesceLocked(devId);
    return startDaemon(daemonArgs(null, devId), json);
  });
}
