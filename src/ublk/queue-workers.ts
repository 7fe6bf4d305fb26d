// Queue workers started before the device exists: a worker's start (a new isolate, our modules,
// Koffi) is most of `add`'s time, so the daemon starts one per planned queue first thing and
// hands each its QueueSetup once the device is there. Nothing here loads the FFI. The worker's
// code is named by URL (the layer that loads targets provides it): this layer knows no target.
import { Worker } from 'node:worker_threads';

/** A worker that has started loading and waits for its QueueSetup (one message). */
function startQueueWorker(url: URL, name: string, workerData: unknown = null): Worker {
  return new Worker(url, { workerData, name });
}

/** Workers started ahead, taken one per queue; what is not taken is ended. */
export class QueueWorkerPool {
  private constructor(
    /** The worker's entry module (cli/queue-worker.ts, built). */
    private readonly url: URL,
    private readonly idle: Worker[],
  ) {}

  /** Starts `count` workers now. */
  static start(url: URL, count: number): QueueWorkerPool {
    return new QueueWorkerPool(
      url,
      Array.from({ length: count }, (_, q) => startQueueWorker(url, `ublk q${q}`)),
    );
  }

  /** No worker yet: each queue starts its own. */
  static empty(url: URL): QueueWorkerPool {
    return new QueueWorkerPool(url, []);
  }

  /** A started worker for queue `queueId`, sent its setup; a new one if none is left. */
  take(queueId: number, setup: unknown): Worker {
    const worker = this.idle.shift();
    if (worker === undefined) return startQueueWorker(this.url, `ublk q${queueId}`, setup);
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
