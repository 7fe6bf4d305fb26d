// Queue workers started before the device exists: a worker's start (a new isolate, our modules,
// Koffi) is most of `add`'s time, so the daemon starts one per planned queue thread first thing
// and hands each its QueueSetup once the device is there. Nothing here loads the FFI. The worker is
// started by a function the layer that loads targets provides: this layer knows no target.
import type { Worker } from 'node:worker_threads';

/**
 * Starts a queue's worker thread named `name`. `workerData`: its QueueSetup, or null for a worker
 * started ahead that waits for it (one message).
 */
export type StartQueueWorker = (name: string, workerData: unknown) => Worker;

/** Workers started ahead, taken one per queue thread (a queue, or its share of one); what is not taken is ended. */
export class QueueWorkerPool {
  private constructor(
    /** Starts the worker's entry module (cli/queue-worker.ts, built). */
    private readonly startWorker: StartQueueWorker,
    private readonly idle: Worker[],
  ) {}

  /** Starts workers until `count` are idle: first a guess, then what the plan wants beyond it. */
  startMore(count: number): void {
    for (let q = this.idle.length; q < count; q++) this.idle.push(this.startWorker(`ublk q${q}`, null));
  }

  /** No worker yet: each queue starts its own. */
  static empty(startWorker: StartQueueWorker): QueueWorkerPool {
    return new QueueWorkerPool(startWorker, []);
  }

  /** A started worker for queue thread `thread`, sent its setup; a new one if none is left. */
  take(thread: number, setup: unknown): Worker {
    const worker = this.idle.shift();
    if (worker === undefined) return this.startWorker(`ublk q${thread}`, setup);
    worker.postMessage(setup);
    return worker;
  }

  /**
   * Tells the workers nobody took that no queue comes (a null setup): each ends by itself once
   * loaded. Never terminate() one: a worker stopped while it loads Koffi aborts the process.
   */
  release(): void {
    for (const worker of this.idle.splice(0)) worker.postMessage(null);
  }
}
