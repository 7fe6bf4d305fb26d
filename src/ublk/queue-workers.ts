// Queue workers started before the device exists: a worker's start (a new isolate, our modules,
// Koffi) is most of `add`'s time, so the daemon starts one per planned queue first thing and
// hands each its QueueSetup once the device is there. Nothing here loads the FFI.
import { Worker } from 'node:worker_threads';

const workerUrl = new URL('./queue-worker.js', import.meta.url);

/** A worker that has started loading and waits for its QueueSetup (one message). */
export function startQueueWorker(name: string, workerData: unknown = null): Worker {
  return new Worker(workerUrl, { workerData, name });
}

/** Workers started ahead, taken one per queue; what is not taken is ended. */
export class QueueWorkerPool {
  private constructor(private readonly idle: Worker[]) {}

  /** Starts `count` workers now. */
  static start(count: number): QueueWorkerPool {
    const workers = Array.from({ length: count }, (_, q) => startQueueWorker(`ublk q${q}`));
    // An idle worker never keeps the daemon alive: a daemon that fails before taking it exits.
    for (const worker of workers) worker.unref();
    return new QueueWorkerPool(workers);
  }

  static empty(): QueueWorkerPool {
    return new QueueWorkerPool([]);
  }

  /** A started worker for queue `queueId`, sent its setup; a new one if none is left. */
  take(queueId: number, setup: unknown): Worker {
    const worker = this.idle.shift();
    if (worker === undefined) return startQueueWorker(`ublk q${queueId}`, setup);
    worker.ref();
    worker.postMessage(setup);
    return worker;
  }

  /** Ends the workers nobody took (they wait for a message, so they end at once). */
  release(): void {
    for (const worker of this.idle.splice(0)) void worker.terminate();
  }
}
