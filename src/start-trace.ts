// Where a start spends its time: with TSUBLK_START_TRACE=FILE set, each process and thread of
// tsublk appends one line per phase to FILE (`npm run bench:start -- --phases` reads them).
// Unset, a mark costs one property read: nothing is loaded, opened or written. perf_hooks and
// worker_threads are fetched only when tracing: importing them costs ~35 of Node's internal
// modules, about 0.1 s of a TCG guest's start (`tsublk --help` loaded them only for this file).

const traceFile = process.env['TSUBLK_START_TRACE'];

/**
 * Records that `phase` is done in this process or thread: its pid, thread id, the wall-clock
 * time (ms, comparable across processes) and the ms since this process or thread began.
 */
export function markStart(phase: string): void {
  if (traceFile === undefined || traceFile === '') return;
  const { appendFileSync } = process.getBuiltinModule('node:fs');
  const { performance } = process.getBuiltinModule('node:perf_hooks');
  const { threadId } = process.getBuiltinModule('node:worker_threads');
  const sinceStart = performance.now();
  appendFileSync(
    traceFile,
    `${process.pid} ${threadId} ${(performance.timeOrigin + sinceStart).toFixed(1)} ${sinceStart.toFixed(1)} ${phase}\n`,
  );
}
