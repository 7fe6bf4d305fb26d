// tsublk metrics: Prometheus scrapes a live device's counters over HTTP while fio drives it, and
// promtool (Debian's prometheus package) accepts what it serves.
import { type ChildProcess, spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanUp, leftovers, randomReads, run, tsublk, tsublkAsync, tsublkBin } from './cli.js';

let server: ChildProcess | undefined;

afterEach(() => {
  server?.kill('SIGKILL');
  server = undefined;
  cleanUp();
  expect(leftovers()).toEqual({ devices: [], daemons: [], runFiles: [] });
});

/** Starts `tsublk metrics` on a free port of the loopback; resolves with its /metrics URL. */
function startMetrics(): Promise<string> {
  const started = spawn(tsublkBin, ['metrics', '--listen', '127.0.0.1:0']);
  server = started;
  let stderr = '';
  return new Promise((resolve, reject) => {
    started.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const url = /serving metrics on (http:\/\/\S+\/metrics)/.exec(stderr)?.[1];
      if (url !== undefined) resolve(url);
    });
    started.once('exit', (status) => reject(new Error(`tsublk metrics exited ${status}: ${stderr}`)));
  });
}

/** The value of one sample in a scrape. */
function sample(body: string, series: string): number {
  const line = body.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? Number.NaN : Number(line.slice(series.length + 1));
}

describe('tsublk metrics', () => {
  it('serves counters that move while fio reads, in a format promtool accepts', async () => {
    // Both start at once: the server needs no device to start.
    const [added, url] = await Promise.all([
      tsublkAsync('add', '-t', 'null', '-n', '0', '-q', '2', '--size', '1G'),
      startMetrics(),
    ]);
    expect(added.status, added.stderr).toBe(0);
    const fioDone = randomReads('/dev/ublkb0', 4);
    const requests = (body: string): number =>
      sample(body, 'tsublk_requests_total{device="0",queue="0",target="null"}') +
      sample(body, 'tsublk_requests_total{device="0",queue="1",target="null"}');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const first = await (await fetch(url)).text();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const second = await (await fetch(url)).text();
    expect(await fioDone).toBe(0);
    expect(requests(first)).toBeGreaterThan(0);
    expect(requests(second)).toBeGreaterThan(requests(first)); // fio's reads, counted as they happen
    expect(second).toContain('# TYPE tsublk_in_flight gauge');
    const check = run('promtool', ['check', 'metrics'], { input: second });
    expect(check.status, `${check.stdout}${check.stderr}`).toBe(0);

    // fio is done: every request a queue handed back is in its service time histogram.
    const stats = JSON.parse(tsublk('stats', '-n', '0', '--json').stdout) as {
      queues: Array<{ completed: number; service_time: { count: number; buckets: Array<{ count: number }> } }>;
    };
    expect(stats.queues.reduce((sum, queue) => sum + queue.completed, 0)).toBeGreaterThan(0);
    for (const { completed, service_time } of stats.queues) {
      expect(service_time.count).toBe(completed);
      expect(service_time.buckets.reduce((sum, bucket) => sum + bucket.count, 0)).toBe(completed);
    }
    const third = await (await fetch(url)).text();
    for (const q of [0, 1]) {
      const labels = `device="0",queue="${q}",target="null"`;
      expect(sample(third, `tsublk_service_seconds_count{${labels}}`)).toBe(
        sample(third, `tsublk_completed_total{${labels}}`),
      );
      expect(sample(third, `tsublk_service_seconds_bucket{${labels},le="+Inf"}`)).toBe(
        sample(third, `tsublk_completed_total{${labels}}`),
      );
    }
  });
});
