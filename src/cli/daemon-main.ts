import { markStart } from '../start-trace.js';
import { QueueWorkerPool } from '../ublk/queue-workers.js';
import { readRunRecord } from '../ublk/run-file.js';
import { parseDaemonArgs } from './daemon-args.js';
import { startQueueWorker } from './queue-worker-entry.js';
import { printErr } from './output.js';

markStart('daemon: entry evaluated');

// The daemon's own entry point, started by `add` and `recover` (not for people). It loads no
// CLI parser, and starts its queue workers before anything else: their start (a new isolate,
// our modules, Koffi) is the longest step of bringing a device up, and needs no device yet.
let workers = QueueWorkerPool.empty(startQueueWorker);

async function runDaemon(): Promise<void> {
  const { plan, recover } = parseDaemonArgs(process.argv.slice(2));
  const queues = plan?.queues ?? (recover === null ? 0 : (readRunRecord(recover)?.plan.queues ?? 0));
  workers = QueueWorkerPool.start(startQueueWorker, queues);
  const { serveDaemon } = await import('./serve-daemon.js');
  markStart('daemon: serve modules evaluated (Koffi loaded and bound)');
  process.exitCode = await serveDaemon(plan, recover, workers);
}

runDaemon().catch((error: unknown) => {
  workers.release(); // an idle worker keeps the daemon alive until told it is not needed
  printErr(`tsublk: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
