// Device create/stop cycles in the test's own process, counting its fds and threads: shared by
// the VM suite's short run and the stress suite's long one.
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { expect } from 'vitest';
import type * as NullModule from '../../src/targets/null.js';
import type * as ControlModule from '../../src/ublk/control.js';
import type * as DeviceModule from '../../src/ublk/device.js';
import type * as WorkersModule from '../../src/ublk/queue-workers.js';
import { leftovers, ok } from './cli.js';

// The built modules; queue workers run the bundle the daemon starts them from, as in production
// (dist/src's ES modules would load ~50 modules per worker: about 1 s a cycle more under TCG).
const dist = new URL('../../dist/src/', import.meta.url).href;
const queueWorkerBundle = fileURLToPath(new URL('../../dist/bundle/cli/queue-worker.js', import.meta.url));

function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

function threads(): number {
  return readdirSync('/proc/self/task').length;
}

/** `cycles` times: create a 2-queue null device, read through it, stop it; then nothing may be left. */
export async function inProcessCyclesLeakNothing(cycles: number): Promise<void> {
  const { ControlDevice } = (await import(`${dist}ublk/control.js`)) as typeof ControlModule;
  const { UblkDevice } = (await import(`${dist}ublk/device.js`)) as typeof DeviceModule;
  const { nullTarget } = (await import(`${dist}targets/null.js`)) as typeof NullModule;
  const { QueueWorkerPool } = (await import(`${dist}ublk/queue-workers.js`)) as typeof WorkersModule;
  const control = ControlDevice.open();
  const options = {
    devId: 9,
    queues: 2,
    depth: 64,
    maxIoBufBytes: 65536,
    flags: 0x40,
    target: nullTarget,
    targetModule: 'null',
    targetConfig: { sizeBytes: 2 ** 26, logicalBlockSize: 512 },
    placement: 'beside' as const,
    workers: QueueWorkerPool.empty((name, workerData) => new Worker(queueWorkerBundle, { workerData, name })),
  };
  // One cycle first: it loads what stays loaded (modules, Koffi, the worker code cache).
  await (await UblkDevice.create(control, options)).stop();
  const fdsBefore = openFds();
  const threadsBefore = threads();
  for (let cycle = 0; cycle < cycles; cycle++) {
    const device = await UblkDevice.create(control, options);
    ok('dd', 'if=/dev/ublkb9', 'of=/dev/null', 'bs=64k', 'count=16', 'iflag=direct');
    await device.stop();
  }
  control.close();
  expect(leftovers()).toEqual({ devices: [], daemons: [], runFiles: [] });
  expect(openFds()).toBeLessThanOrEqual(fdsBefore - 1); // the control fd is closed too
  // Worker threads are gone (allow V8's own helpers a little slack to come and go).
  expect(threads()).toBeLessThanOrEqual(threadsBefore + 1);
}
