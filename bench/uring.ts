// npm run bench:uring [-- --json]: NOP throughput of src/uring against the same loop in C, with
// 1, 8, 32 and 128 SQEs per io_uring_enter, on 1 worker and on 2 workers (one ring each).
// Options: --batch 32,128 --workers 1 --repeats 3 narrow the run.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { schedSetaffinity } from '../native-bindings/libc.js';
import { Ring } from '../src/uring/ring.js';
import { projectRoot } from '../vm/paths.js';

interface Job {
  readonly batch: number;
  readonly nops: number;
  /** The CPU this worker is pinned to: worker n on CPU n, as the C threads are. */
  readonly cpu: number;
}

/**
 * The hot loop, as a queue worker runs it: prepare a batch, one io_uring_enter, reap inline.
 * A plain function with locals only: no closure, no captured counters.
 */
function nopLoop(ring: Ring, batch: number, count: number): number {
  let sum = 0;
  for (let done = 0; done < count; done += batch) {
    for (let i = 0; i < batch; i++) ring.prepNop(ring.getSqe(), i);
    ring.submitAndWait(batch);
    const end = ring.completionEnd();
    for (let at = ring.completionStart(); at !== end; at = (at + 1) >>> 0) {
      if (ring.cqeResult(at) !== 0) throw new Error(`NOP failed: ${ring.cqeResult(at)}`);
      sum += ring.cqeUserDataLow(at);
    }
    ring.completionsConsumed(end);
  }
  return sum;
}

/** Worker side: warm up, then time the loop. */
function runJob({ batch, nops, cpu }: Job): { seconds: number; sum: number } {
  schedSetaffinity(0, [cpu]);
  const ring = Ring.create(128);
  nopLoop(ring, batch, 1_000_000); // warm up: let the JIT reach its optimizing tier first
  const start = performance.now();
  const sum = nopLoop(ring, batch, nops);
  const seconds = (performance.now() - start) / 1000;
  ring.close();
  return { seconds, sum };
}

if (!isMainThread) {
  parentPort?.postMessage(runJob(workerData as Job));
} else {
  await main();
}

function nopsFor(batch: number): number {
  return batch === 1 ? 500_000 : batch === 8 ? 2_000_000 : 5_000_000;
}

async function jsMops(batch: number, workers: number): Promise<number> {
  const nops = nopsFor(batch);
  const results = await Promise.all(
    Array.from(
      { length: workers },
      (_, cpu) =>
        new Promise<{ seconds: number }>((resolve, reject) => {
          const worker = new Worker(fileURLToPath(import.meta.url), { workerData: { batch, nops, cpu } satisfies Job });
          worker.once('message', resolve);
          worker.once('error', reject);
        }),
    ),
  );
  return (nops * workers) / Math.max(...results.map((r) => r.seconds)) / 1e6;
}

function cMops(binary: string, batch: number, workers: number): number {
  const nops = nopsFor(batch);
  const lines = execFileSync(binary, [String(batch), String(nops), String(workers)], { encoding: 'utf8' })
    .trim()
    .split('\n');
  const seconds = Math.max(...lines.map((line) => Number(line.split(' ')[1])));
  return (nops * workers) / seconds / 1e6;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const root = projectRoot();
  const outDir = path.join(root, '.cache', 'bench');
  mkdirSync(outDir, { recursive: true });
  const binary = path.join(outDir, 'uring-nop');
  execFileSync('gcc', ['-O2', '-pthread', '-o', binary, path.join(root, 'bench', 'uring-nop.c')]);
  const listOption = (name: string, fallback: number[]): number[] => {
    const at = process.argv.indexOf(name);
    return at < 0 ? fallback : (process.argv[at + 1] ?? '').split(',').map(Number);
  };
  const repeats = listOption('--repeats', [11])[0] ?? 11;
  const rows = [];
  for (const workers of listOption('--workers', [1, 2])) {
    for (const batch of listOption('--batch', [1, 8, 32, 128])) {
      const js: number[] = [];
      const c: number[] = [];
      // Interleave the two so drift in the machine's speed hits both alike.
      for (let i = 0; i < repeats; i++) {
        js.push(await jsMops(batch, workers));
        c.push(cMops(binary, batch, workers));
      }
      // The ratio is the median of paired runs' ratios: each pair ran back to back, so a drift in
      // the machine's speed (frequent here) cancels out within a pair.
      const ratios = js.map((value, i) => value / (c[i] ?? value));
      const row = {
        batch,
        workers,
        js_mops: round(median(js)),
        c_mops: round(median(c)),
        ratio: round(median(ratios)),
      };
      rows.push(row);
      if (!json)
        process.stderr.write(
          `batch ${batch} workers ${workers}: js ${row.js_mops} c ${row.c_mops} ratio ${row.ratio}\n`,
        );
    }
  }
  if (json) {
    process.stdout.write(JSON.stringify({ rows }) + '\n');
    return;
  }
  console.log(`NOP throughput, million per second (median of ${repeats}); ratio = JS / C`);
  console.log('batch  workers  js_mops  c_mops  ratio');
  for (const r of rows)
    console.log(
      `${String(r.batch).padStart(5)}  ${String(r.workers).padStart(7)}  ${r.js_mops.toFixed(2).padStart(7)}  ${r.c_mops.toFixed(2).padStart(6)}  ${r.ratio.toFixed(2).padStart(5)}`,
    );
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
