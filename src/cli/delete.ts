import { readFileSync } from 'node:fs';
import { ControlCommandError, ControlDevice } from '../ublk/control.js';
import { UblkError } from '../ublk/errors.js';
import { removeRunRecord } from '../ublk/run-file.js';
import { NotYoursError, deviceInfoFor } from './control-access.js';
import { deviceIds } from './devices.js';
import { withDeviceLock } from './device-lock.js';
import { processAlive, processRunning } from './system.js';
import { markStart } from '../start-trace.js';

/** del --safe found the device's disk open: nothing was changed. */
class DeviceInUseError extends UblkError {
  constructor(readonly devId: number) {
    super(
      `device ${devId} is in use (mounted, or open by a process): unmount or close it, then del --safe again`,
      'EBUSY',
    );
  }
}

/**
 * del --safe: TRY_STOP_DEV stops the device only while nobody has its disk open (the kernel
 * checks and stops under one lock, so no opener slips in between). Its daemon then sees its
 * queues end and deletes the device, as after SIGTERM.
 */
function stopIfUnused(control: ControlDevice, devId: number): void {
  control.assertSupported(
    'TRY_STOP_DEV',
    `del --safe needs it; check that nothing has /dev/ublkb${devId} open, then del without --safe`,
  );
  try {
    control.tryStopDevice(devId);
  } catch (error) {
    if (error instanceof ControlCommandError && error.code === 'EBUSY') throw new DeviceInUseError(devId);
    // ENODEV: no disk (never started, or already stopped): nothing is open, delete as usual.
    if (!(error instanceof ControlCommandError && error.code === 'ENODEV')) throw error;
  }
}

/** How often del looks again while the daemon finishes: each look is one ioctl or one /proc read. */
const POLL_MS = 20;

async function waitUntilGone(control: ControlDevice, devId: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      control.getDeviceInfo(devId);
    } catch (error) {
      // ENOENT: an unprivileged device's path, which its commands carry, is already gone.
      if (error instanceof ControlCommandError && (error.code === 'ENODEV' || error.code === 'ENOENT')) return true;
      throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return false;
}

/** Waits until process `pid` is gone (the daemon unmaps and closes its backing last); false on timeout. */
async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (processRunning(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return true;
}

/** The disk's request timeout in ms (0 when there is no disk). */
function ioTimeoutMs(devId: number): number {
  try {
    return Number(readFileSync(`/sys/block/ublkb${devId}/queue/io_timeout`, 'utf8')) || 0;
  } catch {
    return 0;
  }
}

/**
 * Deletes one device: through its daemon if it lives (SIGTERM, then wait until the kernel no
 * longer knows the device, unless `async`), else directly (DEL_DEV_ASYNC with `async`).
 */
async function deleteOne(control: ControlDevice, devId: number, async: boolean, safe: boolean): Promise<void> {
  const info = deviceInfoFor(control, devId, 'delete');
  if (safe) stopIfUnused(control, devId);
  if (processAlive(info.ublksrvPid)) {
    process.kill(info.ublksrvPid, 'SIGTERM');
    markStart('cli: SIGTERM sent to the daemon');
    if (async) return; // the daemon finishes the deletion and removes its record
    // A request held to time out (timeout_inject) keeps STOP_DEV waiting up to the disk's io_timeout.
    const budgetMs = 30_000 + ioTimeoutMs(devId);
    if (await waitUntilGone(control, devId, budgetMs)) {
      markStart('cli: the kernel no longer knows the device');
      removeRunRecord(devId);
      await waitForExit(info.ublksrvPid, 10_000); // del returns with no daemon left behind
      markStart('cli: the daemon exited');
      return;
    }
    throw new UblkError(
      `device ${devId}: its daemon (pid ${info.ublksrvPid}) did not delete it within ${budgetMs / 1000} s`,
    );
  }
  // No daemon: stop and delete it ourselves.
  try {
    control.stopDevice(devId);
  } catch (error) {
    if (!(error instanceof ControlCommandError)) throw error;
  }
  if (async) control.deleteDeviceAsync(devId);
  else control.deleteDevice(devId);
  removeRunRecord(devId);
}

/**
 * `del -n ID` or `del -a`, with `--async`: do not wait for the deletion to finish; with `--safe`:
 * leave a device whose disk is open as it is (`del -a --safe` deletes the others, then says which).
 */
export async function del(devId: number, all: boolean, async = false, safe = false): Promise<void> {
  const control = ControlDevice.open();
  const inUse: number[] = [];
  const failures: unknown[] = [];
  try {
    const ids = all ? deviceIds() : [devId];
    // Side by side: each daemon stops its own device, so del -a waits for N about as long as for one.
    const outcomes = await Promise.allSettled(
      ids.map((id) => withDeviceLock(id, () => deleteOne(control, id, async, safe))),
    );
    // Every device was tried; the first failure (in id order) is the one reported.
    ids.forEach((id, at) => {
      const outcome = outcomes[at];
      if (outcome?.status !== 'rejected') return;
      const error: unknown = outcome.reason;
      if (all && error instanceof DeviceInUseError) inUse.push(id);
      // `del -a` deletes what is ours to delete: a user's own devices, or everything for root.
      else if (!(all && error instanceof NotYoursError)) failures.push(error);
    });
  } finally {
    control.close();
  }
  if (failures.length > 0) throw failures[0];
  if (inUse.length > 0)
    throw new UblkError(
      `device${inUse.length > 1 ? 's' : ''} ${inUse.join(', ')} in use (mounted, or open by a process), left as they are: unmount or close them, then del --safe again`,
      'EBUSY',
    );
}
