// Where a start spends its time: with TSUBLK_START_TRACE=FILE set, each process and thread of
// tsublk appends one line per phase to FILE (`npm run bench:start -- --phases` reads them).
// Unset, a mark costs one property read: nothing is loaded, opened or written.
import { appendFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { threadId } from 'node:worker_threads';

const traceFile = process.env['TSUBLK_START_TRACE'];

/**
 * Records that `phase` is done in this process or thread: its pid, thread id, the wall-clock
 * time (ms, comparable across processes) and the ms since this process or thread began.
 */
export function markStart(phase: string): void {
  if (traceFile === undefined || traceFile === '') return;
  const sinceStart = performance.now();
  appendFileSync(traceFile, `${process.pid} ${threadId} ${(performance.timeOrigin + sinceStart).toFixed(1)} ${sinceStart.toFixed(1)} ${phase}\n`);
}
