// The entry point of a queue's worker_thread: load the target, build the queue (its initHctx
// runs here, in the thread that will serve it), say ready, serve until the device stops, tear
// down, say so. It lives above ublk/ and targets/ because it joins the two: the ublk layer
// starts it by URL (queue-worker-url.ts) and knows no target by name.
import { parentPort, workerData } from 'node:worker_threads';
import { gettid } from '../../native-bindings/libc.js';
import { loadTarget } from '../targets/load-target.js';
import { UblkQueue } from '../ublk/queue.js';
import type { QueueSetup } from '../ublk/queue-setup.js';
import type { QueueMessage } from '../ublk/queue-messages.js';
import { markStart } from '../start-trace.js';
import { saveCodeCache } from './code-cache.js';

markStart('worker: modules evaluated (Koffi loaded and bound)');

const post = (message: QueueMessage): void => parentPort?.postMessage(message);

/**
 * The queue's setup: given at start, or (a worker started ahead of its device) the first
 * message; null when the daemon needs no queue of it after all.
 */
function queueSetup(): Promise<QueueSetup | null> {
  if (workerData !== null) return Promise.resolve(workerData as QueueSetup);
  return new Promise((resolve) => parentPort?.once('message', (setup: QueueSetup | null) => resolve(setup)));
}

/** Serves the queue until the device stops; every outcome is posted, none thrown. */
async function serveQueue(): Promise<void> {
  const setup = await queueSetup();
  if (setup === null) return; // not needed: end without a word
  let queue: UblkQueue | undefined;
  try {
    const target = await loadTarget(setup.target);
    markStart('worker: target loaded');
    queue = new UblkQueue(setup, target, {
      targetFailure: (detail) => post({ type: 'target-failure', queueId: setup.queueId, detail }),
      warning: (detail) => post({ type: 'warning', queueId: setup.queueId, detail }),
    });
    markStart('worker: queue set up (initHctx, every tag fetched)');
    post({ type: 'ready', queueId: setup.queueId, tid: gettid() });
    saveCodeCache(); // what this start compiled, kept for the next one (code-cache.ts); then the loop never yields

    queue.run();
    markStart('worker: queue stopped serving');
    queue.teardown();
    post({ type: 'stopped', queueId: setup.queueId });
  } catch (error) {
    try {
      queue?.failServing();
      queue?.teardown();
    } finally {
      const message = error instanceof Error ? error.message : String(error);
      post({
        type: 'failed',
        queueId: setup.queueId,
        message,
        detail: error instanceof Error ? (error.stack ?? message) : message,
      });
    }
  }
}

void serveQueue();
