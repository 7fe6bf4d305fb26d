// How the daemon starts a queue's worker_thread: its entry (queue-worker.ts), beside this module
// in dist/src/cli and in the bundle's folder alike, through the code cache where this process has it.
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { codeCacheInstaller } from './code-cache.js';

const queueWorkerUrl = new URL('./queue-worker.js', import.meta.url);

/** Starts a queue worker named `name`; `workerData`: its QueueSetup, or null to wait for one. */
export function startQueueWorker(name: string, workerData: unknown): Worker {
  const installer = codeCacheInstaller();
  if (installer === null) return new Worker(queueWorkerUrl, { workerData, name });
  // A worker's loader is its own: a stub installs the cache in it before the entry is compiled.
  const stub = `require(${JSON.stringify(installer)}); require(${JSON.stringify(fileURLToPath(queueWorkerUrl))});`;
  return new Worker(stub, { eval: true, workerData, name });
}
