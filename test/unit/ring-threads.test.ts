import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';

const dist = new URL('../../dist/', import.meta.url);

interface WorkerReport {
  readonly tid: number;
  readonly completions: number;
  readonly userDataSum: number;
}

function runWorker(rings: number, nops: number): Promise<WorkerReport> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('../support/ring-worker.mjs', import.meta.url), {
      workerData: {
        rings,
        nops,
        ringModule: new URL('src/uring/ring.js', dist).href,
        libcModule: new URL('native-bindings/libc.js', dist).href,
      },
    });
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`worker exited with ${code}`))));
  });
}

describe('rings in several worker_threads at once', () => {
  it('each worker drives its own rings with every completion accounted for (needs npm run build)', async () => {
    const nops = 20_000;
    const reports = await Promise.all(Array.from({ length: 4 }, () => runWorker(3, nops)));
    for (const report of reports) {
      expect(report.completions).toBe(nops);
      expect(report.userDataSum).toBe((nops * (nops - 1)) / 2);
    }
    // Four distinct kernel threads: the rings really were used from four threads.
    expect(new Set(reports.map((r) => r.tid)).size).toBe(4);
  });
});
