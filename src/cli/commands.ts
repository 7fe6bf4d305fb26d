import { spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UBLK_F_BIT, UBLK_S_DEV } from '../../native-bindings/ublk_cmd.js';
import { ControlCommandError, ControlDevice } from '../ublk/control.js';
import { UblkError } from '../ublk/errors.js';
import { featureNames, featuresUsed } from '../ublk/features.js';
import { type RunRecord, parseRunRecord, removeRunRecord, runFilePath } from '../ublk/run-file.js';
import { type DeviceView, describeDevice, deviceIds, deviceJson, formatDevice, stateName } from './devices.js';
import { daemonArgs } from './daemon-args.js';
import { withDeviceLock } from './device-lock.js';
import type { AddPlan } from './plan.js';
import { type ServeStatus, serve } from './serve.js';
import { kernelRelease, processAlive, processRunning } from './system.js';

/** The daemon's entry point (daemon-main.ts): no CLI parser to load. */
const daemonPath = fileURLToPath(new URL('./daemon-main.js', import.meta.url));

/** True for the kernel's answer to a command on another user's device. */
function notOurs(error: unknown): boolean {
  return error instanceof ControlCommandError && (error.code === 'EACCES' || error.code === 'EPERM');
}

/** A command on another user's device, refused by the kernel. */
class NotYoursError extends UblkError {}

function notOursError(devId: number, error: ControlCommandError, action: string): NotYoursError {
  return new NotYoursError(`device ${devId} is not yours (${error.code}): only its owner or root can ${action} it`);
}

function withControl<T>(action: (control: ControlDevice) => T): T {
  const control = ControlDevice.open();
  try {
    return action(control);
  } finally {
    control.close();
  }
}

function printDevices(views: readonly DeviceView[], json: boolean): void {
  if (json) process.stdout.write(JSON.stringify(views.map(deviceJson), null, 2) + '\n');
  else for (const view of views) process.stdout.write(formatDevice(view) + '\n');
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

/** `features [--json]`: the running kernel's ublk features, and which tsublk uses. */
export function features(json: boolean): void {
  const supported = withControl((control) => control.features);
  const rows = Object.entries(UBLK_F_BIT).map(([name, bit]) => ({
    name,
    bit,
    supported: Math.floor(supported / 2 ** bit) % 2 === 1,
    used: (featuresUsed as readonly string[]).includes(name),
  }));
  if (json) {
    process.stdout.write(JSON.stringify({ kernel: kernelRelease(), features: supported, names: featureNames(supported), rows }, null, 2) + '\n');
    return;
  }
  process.stdout.write(`ublk features of Linux ${kernelRelease()}: 0x${supported.toString(16)}\n`);
  for (const row of rows) process.stdout.write(`\t${row.name.padEnd(24)} ${row.supported ? 'yes' : 'no '}${row.used ? '  used by tsublk' : ''}\n`);
}

/** `add` in the foreground: serve here until SIGINT/SIGTERM. */
export async function addForeground(plan: AddPlan, json: boolean): Promise<number> {
  return serve(plan, (status) => {
    if (!status.ok) {
      process.stderr.write(`tsublk: ${status.error}\n`);
      return;
    }
    list(status.devId, json);
  });
}

/** Starts a detached daemon (`daemon-main.js serve …`), waits until its device is LIVE (or its error), prints it. */
async function startDaemon(serveArgs: readonly string[], json: boolean): Promise<number> {
  const child = spawn(process.execPath, [daemonPath, ...serveArgs], {
    detached: true, // its own session: it outlives this command and the terminal
    stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
    cwd: '/',
  });
  const statusPipe = child.stdio[3] as NodeJS.ReadableStream;
  const status = await new Promise<ServeStatus>((resolve) => {
    let text = '';
    statusPipe.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const line = text.split('\n')[0];
      if (text.includes('\n') && line !== undefined) resolve(JSON.parse(line) as ServeStatus);
    });
    child.once('exit', (code, signal) => resolve({ ok: false, error: `the daemon exited (${code ?? signal}) before the device was ready` }));
  });
  (statusPipe as unknown as { destroy(): void }).destroy();
  child.unref();
  if (!status.ok) {
    process.stderr.write(`tsublk: ${status.error}\n`);
    return 1;
  }
  list(status.devId, json);
  return 0;
}

/** `add`: start a detached daemon, wait until its device is LIVE (or its error), print it. */
export async function addDaemon(plan: AddPlan, json: boolean): Promise<number> {
  const start = (): Promise<number> => startDaemon(daemonArgs(plan, null), json);
  return plan.devId >= 0 ? withDeviceLock(plan.devId, start) : start();
}

/** The daemon side of addDaemon and recover: serve, reporting once on fd 3. */
export async function serveDaemon(plan: AddPlan | null, recoverId: number | null): Promise<number> {
  const statusStream = createWriteStream('', { fd: 3 });
  const report = (status: ServeStatus): void => {
    statusStream.end(JSON.stringify(status) + '\n');
  };
  if (recoverId === null) return serve(plan as AddPlan, report);
  let record: RunRecord;
  try {
    record = recordForRecovery(recoverId);
  } catch (error) {
    report({ ok: false, error: (error as Error).message });
    return 1;
  }
  return serve(record.plan, report, { devId: recoverId, targetConfig: record.target.config });
}

/** The dead daemon's record, checked: `recover` rebuilds the target from it. */
function recordForRecovery(devId: number): RunRecord {
  const file = runFilePath(devId);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new UblkError(`${file} is missing: recover needs it to rebuild the device's target; delete the device with tsublk del -n ${devId}`);
  }
  try {
    return parseRunRecord(text);
  } catch (error) {
    throw new UblkError(`${file} is corrupt (${(error as Error).message}): recover cannot rebuild the device's target from it; delete the device with tsublk del -n ${devId}`);
  }
}

/**
 * `recover -n ID`: a device whose daemon died (QUIESCED with -r 1, FAIL_IO with -e 1) gets a new
 * daemon that rebuilds its target from the record and takes its queues over; returns when LIVE.
 */
async function recover(devId: number, json: boolean): Promise<number> {
  const info = withControl((control) => {
    try {
      return control.getDeviceInfo(devId);
    } catch (error) {
      if (error instanceof ControlCommandError && error.code === 'ENODEV') throw new UblkError(`no ublk device ${devId}: see tsublk list`);
      if (notOurs(error)) throw notOursError(devId, error as ControlCommandError, 'recover');
      throw error;
    }
  });
  const state = stateName(info.state);
  if (info.state === UBLK_S_DEV.LIVE && processAlive(info.ublksrvPid)) throw new UblkError(`device ${devId} is LIVE, served by pid ${info.ublksrvPid}: nothing to recover`);
  if (info.state !== UBLK_S_DEV.QUIESCED && info.state !== UBLK_S_DEV.FAIL_IO) {
    throw new UblkError(`device ${devId} is ${state}: only a device added with -r 1 or -e 1 whose daemon died can be recovered; delete it with tsublk del -n ${devId}`);
  }
  recordForRecovery(devId); // its errors, here, before a daemon starts
  return startDaemon(daemonArgs(null, devId), json);
}

/** `recover -n ID`, holding the device's lock. */
export function recoverLocked(devId: number, json: boolean): Promise<number> {
  return withDeviceLock(devId, () => recover(devId, json));
}

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
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

/** Waits until process `pid` is gone (the daemon unmaps and closes its backing last); false on timeout. */
async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (processRunning(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
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
async function deleteOne(control: ControlDevice, devId: number, async: boolean): Promise<void> {
  let info;
  try {
    info = control.getDeviceInfo(devId);
  } catch (error) {
    if (error instanceof ControlCommandError && error.code === 'ENODEV') throw new UblkError(`no ublk device ${devId}: see tsublk list`);
    if (notOurs(error)) throw notOursError(devId, error as ControlCommandError, 'delete');
    throw error;
  }
  if (processAlive(info.ublksrvPid)) {
    process.kill(info.ublksrvPid, 'SIGTERM');
    if (async) return; // the daemon finishes the deletion and removes its record
    // A request held to time out (timeout_inject) keeps STOP_DEV waiting up to the disk's io_timeout.
    const budgetMs = 30_000 + ioTimeoutMs(devId);
    if (await waitUntilGone(control, devId, budgetMs)) {
      removeRunRecord(devId);
      await waitForExit(info.ublksrvPid, 10_000); // del returns with no daemon left behind
      return;
    }
    throw new UblkError(`device ${devId}: its daemon (pid ${info.ublksrvPid}) did not delete it within ${budgetMs / 1000} s`);
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

/** `del -n ID` or `del -a`, with `--async`: do not wait for the deletion to finish. */
export async function del(devId: number, all: boolean, async = false): Promise<void> {
  const control = ControlDevice.open();
  try {
    const ids = all ? deviceIds() : [devId];
    for (const id of ids) {
      try {
        await withDeviceLock(id, () => deleteOne(control, id, async));
      } catch (error) {
        // `del -a` deletes what is ours to delete: a user's own devices, or everything for root.
        if (!(all && error instanceof NotYoursError)) throw error;
      }
    }
  } finally {
    control.close();
  }
}
