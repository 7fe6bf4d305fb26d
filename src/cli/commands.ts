import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UBLK_F_BIT } from '../../native-bindings/ublk_cmd.js';
import { ControlCommandError, ControlDevice } from '../ublk/control.js';
import { UblkError } from '../ublk/errors.js';
import { featureNames, featuresUsed } from '../ublk/features.js';
import { removeRunRecord } from '../ublk/run-file.js';
import { type DeviceView, describeDevice, deviceIds, deviceJson, formatDevice } from './devices.js';
import type { AddPlan } from './plan.js';
import { type ServeStatus, serve } from './serve.js';
import { kernelRelease, processAlive } from './system.js';

const binPath = fileURLToPath(new URL('../../../bin/tsublk', import.meta.url));

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

/** `add`: start a detached daemon, wait until its device is LIVE (or its error), print it. */
export async function addDaemon(plan: AddPlan, json: boolean): Promise<number> {
  const child = spawn(process.execPath, [binPath, 'serve', '--plan', JSON.stringify(plan)], {
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

/** The daemon side of addDaemon: serve, reporting once on fd 3. */
export async function serveDaemon(plan: AddPlan): Promise<number> {
  const statusStream = createWriteStream('', { fd: 3 });
  return serve(plan, (status) => {
    statusStream.end(JSON.stringify(status) + '\n');
  });
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
    if (await waitUntilGone(control, devId, 30_000)) {
      removeRunRecord(devId);
      return;
    }
    throw new UblkError(`device ${devId}: its daemon (pid ${info.ublksrvPid}) did not delete it within 30 s`);
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
        await deleteOne(control, id, async);
      } catch (error) {
        // `del -a` deletes what is ours to delete: a user's own devices, or everything for root.
        if (!(all && error instanceof NotYoursError)) throw error;
      }
    }
  } finally {
    control.close();
  }
}
