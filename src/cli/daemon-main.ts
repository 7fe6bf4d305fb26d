import { readFileSync } from 'node:fs';
import { markStart } from '../start-trace.js';
import { QueueWorkerPool } from '../ublk/queue-workers.js';
import { readRunRecord, recordedThreads } from '../ublk/run-file.js';
import { daemonArgsFromInput, parseDaemonArgs } from './daemon-args.js';
import { startQueueWorker } from './queue-worker-entry.js';
import { printErr } from './output.js';

markStart('daemon: entry evaluated');

// The daemon's own entry point, started by `add`, `recover` and `restart` (not for people) as
// they begin, before they know what it will serve (daemon-prestart.ts). It loads no CLI parser,
// and starts its queue workers before anything else: their start (a new isolate, our modules,
// Koffi) is the longest step of bringing a device up, and needs no device yet.
const workers = QueueWorkerPool.empty(startQueueWorker);

/**
 * How many queue workers to start before the arguments come (daemon-prestart.ts
 * earlyWorkerArgs): `--queues N`, or `--device ID` whose run file names its queues; else none.
 */
function earlyWorkers(argv: readonly string[]): number {
  const [command, flag, value] = argv;
  if (command !== 'serve' || value === undefined || !/^\d+$/.test(value)) return 0;
  if (flag === '--queues') return Number(value);
  if (flag === '--device') {
    const record = readRunRecord(Number(value));
    return record === null ? 0 : recordedThreads(record.plan);
  }
  return 0;
}

async function runDaemon(): Promise<void> {
  // `serve [--queues N | --device ID]`: the CLI started this process before it knew what to serve.
  workers.startMore(earlyWorkers(process.argv.slice(2)));
  const input = readFileSync(0, 'utf8'); // to EOF: startDaemon ends its stdin after one line
  markStart('daemon: arguments read');
  const argv = daemonArgsFromInput(input);
  if (argv === null) {
    workers.release(); // not needed after all: nothing to serve, nothing to say
    return;
  }
  const { plan, recover } = parseDaemonArgs(argv);
  const planned = plan ?? (recover === null ? null : (readRunRecord(recover)?.plan ?? null));
  workers.startMore(planned === null ? 0 : recordedThreads(planned));
  const { serveDaemon } = await import('./serve-daemon.js');
  markStart('daemon: serve modules evaluated (Koffi loaded and bound)');
  process.exitCode = await serveDaemon(plan, recover, workers);
  markStart('daemon: done serving, exiting');
}

runDaemon().catch((error: unknown) => {
  workers.release(); // an idle worker keeps the daemon alive until told it is not needed
  printErr(`tsublk: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
