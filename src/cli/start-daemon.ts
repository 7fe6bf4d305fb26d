// The CLI side of `add` and `recover`: start a detached daemon and wait for its one report.
// Nothing here loads the FFI: the daemon checks the device and describes it in its report.
import { daemonArgs } from './daemon-args.js';
import { spawnDaemon, takePrestartedDaemon } from './daemon-prestart.js';
import { withDeviceLock } from './device-lock.js';
import type { AddPlan } from './plan.js';
import type { ServeStatus } from './serve.js';
import { printDescription } from './device-description.js';
import { printErr } from './output.js';
import { markStart } from '../start-trace.js';

/**
 * Hands a daemon (the one bin/tsublk started as this command began, or a new one) what to serve,
 * waits until its device is LIVE (or its error), prints it.
 */
export async function startDaemon(serveArgs: readonly string[], json: boolean): Promise<number> {
  const child = takePrestartedDaemon() ?? spawnDaemon();
  child.stdin?.end(`${JSON.stringify(serveArgs)}\n`);
  const statusPipe = child.stdio[3] as NodeJS.ReadableStream;
  // A daemon started early may be gone already (its 'exit' came before these listeners).
  const gone = child.exitCode !== null || child.signalCode !== null;
  const exited = gone ? Promise.resolve() : new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const status = await new Promise<ServeStatus>((resolve) => {
    if (gone)
      resolve({
        ok: false,
        error: `the daemon exited (${child.exitCode ?? child.signalCode}) before the device was ready`,
      });
    let text = '';
    statusPipe.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const line = text.split('\n')[0];
      if (text.includes('\n') && line !== undefined) resolve(JSON.parse(line) as ServeStatus);
    });
    child.once('exit', (code, signal) =>
      resolve({ ok: false, error: `the daemon exited (${code ?? signal}) before the device was ready` }),
    );
  });
  markStart('cli: the daemon reported');
  (statusPipe as unknown as { destroy(): void }).destroy();
  if (!status.ok) {
    // A daemon that failed exits once its queue workers have ended: add returns with none left.
    await exited;
    printErr(`tsublk: ${status.error}\n`);
    return 1;
  }
  child.unref();
  printDescription(status.device, json);
  return 0;
}

/** `add`: start a detached daemon, wait until its device is LIVE (or its error), print it. */
export async function addDaemon(plan: AddPlan, json: boolean): Promise<number> {
  const start = (): Promise<number> => startDaemon(daemonArgs(plan, null), json);
  return plan.devId >= 0 ? withDeviceLock(plan.devId, start) : start();
}

/**
 * `recover -n ID`, holding the device's lock: a device whose daemon died (QUIESCED with -r 1,
 * FAIL_IO with -e 1) gets a new daemon that checks it, rebuilds its target from the record and
 * takes its queues over; returns as soon as the device is LIVE.
 */
export function recoverLocked(devId: number, json: boolean): Promise<number> {
  return withDeviceLock(devId, () => startDaemon(daemonArgs(null, devId), json));
}
