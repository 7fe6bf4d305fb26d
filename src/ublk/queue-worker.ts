// The entry point of a queue's worker_thread: build the queue (its initHctx runs here, in the
// thread that will serve it), say ready, serve until the device stops, tear down, say so.
import { parentPort, workerData } from 'node:worker_threads';
import { gettid } from '../../native-bindings/libc.js';
import { loadTarget } from '../targets/registry.js';
import { type QueueSetup, UblkQueue } from './queue.js';

/** Messages a queue worker posts to the daemon. */
export type QueueMessage =
  | { readonly type: 'ready'; readonly queueId: number; readonly tid: number }
  | { readonly type: 'stopped'; readonly queueId: number }
  | { readonly type: 'failed'; readonly queueId: number; readonly message: string };

const setup = workerData as QueueSetup;
const post = (message: QueueMessage): void => parentPort?.postMessage(message);

let queue: UblkQueue | undefined;
try {
  queue = new UblkQueue(setup, await loadTarget(setup.target));
  post({ type: 'ready', queueId: setup.queueId, tid: gettid() });
  queue.run();
  queue.teardown();
  post({ type: 'stopped', queueId: setup.queueId });
} catch (error) {
  try {
    queue?.teardown();
  } finally {
    post({ type: 'failed', queueId: setup.queueId, message: error instanceof Error ? error.message : String(error) });
  }
}
