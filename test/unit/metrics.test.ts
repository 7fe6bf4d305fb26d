import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { metricsText } from '../../src/cli/metrics-text.js';
import { QueueCounter, SLOT_FIELDS } from '../../src/ublk/stats-file.js';
import { SERVICE_BUCKETS, serviceTimesOf } from '../../src/ublk/service-time.js';

const bin = fileURLToPath(new URL('../../bin/tsublk', import.meta.url));
/** Preloaded, it makes any load of Koffi fail: the metrics server opens no device and loads no target. */
const refuseKoffi = fileURLToPath(new URL('../support/refuse-koffi.cjs', import.meta.url));

/** A sample line of the Prometheus text format: name{labels} value. */
const SAMPLE = /^[a-zA-Z_:][a-zA-Z0-9_:]*\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\} [-+0-9.eEInfNa]+$/;

/** A queue's service times from [sum µs, then bucket counts from bucket 0]. */
function serviceTimes(sumUs: number, ...buckets: number[]): ReturnType<typeof serviceTimesOf> {
  return serviceTimesOf([sumUs, ...buckets]);
}

describe('the Prometheus text format of the counters', () => {
  const text = metricsText([
    {
      devId: 3,
      target: 'null',
      queues: [
        {
          counters: {
            enters: 10,
            requests: 100,
            completed: 98,
            errors: 1,
            target_failures: 0,
            spins: 4,
            spin_hits: 2,
            reads: 60,
          },
          serviceTimes: serviceTimes(500, 0, 0, 90, 8), // 90 up to 4 µs, 8 up to 8 µs
        },
        {
          counters: {
            enters: 5,
            requests: 50,
            completed: 50,
            errors: 0,
            target_failures: 0,
            spins: 0,
            spin_hits: 0,
            reads: 50,
          },
          serviceTimes: serviceTimes(0),
        },
      ],
    },
    {
      devId: 4,
      target: 'my "t"',
      queues: [{ counters: { requests: 7, completed: 7, 'weird-name': 1.5 }, serviceTimes: serviceTimes(0) }],
    },
  ]);
  const lines = text.trimEnd().split('\n');

  it('gives every sample a family with HELP and TYPE before it, its samples together', () => {
    const seen = new Set<string>();
    let current = '';
    for (const line of lines) {
      const type = /^# TYPE (\S+) (counter|gauge|untyped|histogram)$/.exec(line);
      if (type !== null) {
        expect(seen.has(type[1] ?? '')).toBe(false); // each family once
        seen.add(type[1] ?? '');
        current = type[1] ?? '';
        continue;
      }
      if (line.startsWith('# HELP ')) continue;
      expect(line).toMatch(SAMPLE);
      const name = line.split('{')[0] ?? '';
      expect(current === 'tsublk_service_seconds' ? name.replace(/_(bucket|sum|count)$/, '') : name).toBe(current);
    }
    expect([...seen]).toEqual(
      expect.arrayContaining([
        'tsublk_requests_total',
        'tsublk_completed_total',
        'tsublk_errors_total',
        'tsublk_enters_total',
        'tsublk_in_flight',
        'tsublk_service_seconds',
        'tsublk_target_reads',
        'tsublk_target_weird_name',
      ]),
    );
  });

  it('labels each sample with device, queue and target, and counts in flight per queue', () => {
    expect(lines).toContain('tsublk_requests_total{device="3",queue="1",target="null"} 50');
    expect(lines).toContain('tsublk_in_flight{device="3",queue="0",target="null"} 2');
    expect(lines).toContain('tsublk_target_reads{device="3",queue="0",target="null"} 60');
    expect(lines).toContain('tsublk_target_weird_name{device="4",queue="0",target="my \\"t\\""} 1.5');
    // A target counter only the other device has is not made up for this one.
    expect(lines.filter((line) => line.startsWith('tsublk_target_reads{device="4"'))).toEqual([]);
  });

  it('exposes service times as a histogram per queue: cumulative buckets in seconds, sum and count', () => {
    const queue0 = lines.filter((line) => line.startsWith('tsublk_service_seconds_bucket{device="3",queue="0"'));
    expect(queue0).toHaveLength(SERVICE_BUCKETS);
    expect(queue0[0]).toBe('tsublk_service_seconds_bucket{device="3",queue="0",target="null",le="0.000001"} 0');
    expect(queue0[2]).toBe('tsublk_service_seconds_bucket{device="3",queue="0",target="null",le="0.000004"} 90');
    expect(queue0[3]).toBe('tsublk_service_seconds_bucket{device="3",queue="0",target="null",le="0.000008"} 98');
    expect(queue0[22]).toBe('tsublk_service_seconds_bucket{device="3",queue="0",target="null",le="4.194304"} 98');
    expect(queue0[23]).toBe('tsublk_service_seconds_bucket{device="3",queue="0",target="null",le="+Inf"} 98');
    expect(lines).toContain('tsublk_service_seconds_sum{device="3",queue="0",target="null"} 0.0005');
    expect(lines).toContain('tsublk_service_seconds_count{device="3",queue="0",target="null"} 98');
    expect(lines).toContain('tsublk_service_seconds_count{device="4",queue="0",target="my \\"t\\""} 0');
  });

  it('is empty with no device', () => {
    expect(metricsText([])).toBe('');
  });
});

describe('a queue served by several threads', () => {
  it('sums the threads that serve one queue (--per_io_tasks: slot t is record.queues[t]) into that queue', async () => {
    // The run directory is read once, at load: these modules are loaded afresh with it set.
    const dir = mkdtempSync(path.join(tmpdir(), 'tsublk-threads-'));
    vi.stubEnv('TSUBLK_RUN_DIR', dir);
    vi.resetModules();
    const { readCounters } = await import('../../src/ublk/stats-file.js');
    const { recordedQueueCount } = await import('../../src/ublk/run-file.js');
    vi.unstubAllEnvs();
    const record = {
      devId: 8,
      pid: process.pid,
      plan: { target: 'null', flags: 0, queues: 2, threads: 4 },
      target: { name: 'null', type: 0, config: {}, devSize: 4096 },
      dataPath: 'copy' as const,
      ownedFiles: [],
      queues: [0, 1, 0, 1].map((queueId, t) => ({ queueId, tid: 10 + t, cpus: [] })),
      statistics: [],
      createdAt: new Date().toISOString(),
    };
    const counters = new Float64Array(4 * SLOT_FIELDS);
    [5, 7, 11, 13].forEach((requests, t) => (counters[t * SLOT_FIELDS + QueueCounter.Requests] = requests));
    counters[2 * SLOT_FIELDS + QueueCounter.ServiceBuckets + 1] = 3; // thread 2 (queue 0): 3 requests in bucket 1
    writeFileSync(path.join(dir, '8.stats'), Buffer.from(counters.buffer));
    const queues = readCounters(8, recordedQueueCount(record), record);
    expect(queues?.map((queue) => queue.counters['requests'])).toEqual([5 + 11, 7 + 13]);
    expect(queues?.[0]?.serviceTimes.buckets[1]).toBe(3);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('tsublk metrics --listen', () => {
  let daemon: ChildProcess | undefined;
  const dir = mkdtempSync(path.join(tmpdir(), 'tsublk-metrics-'));
  afterEach(() => {
    daemon?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  it('serves every recorded device at /metrics from its stats file (no FFI loaded), 404 elsewhere, and exits 0 on SIGTERM', async () => {
    // A device as a daemon leaves it: its record and its stats file (2 queues), no device node needed.
    const record = {
      devId: 7,
      pid: process.pid,
      plan: { target: 'null', flags: 0 },
      target: { name: 'null', type: 0, config: {}, devSize: 4096 },
      dataPath: 'copy',
      ownedFiles: [],
      queues: [
        { queueId: 0, tid: 1, cpus: [] },
        { queueId: 1, tid: 2, cpus: [] },
      ],
      statistics: ['reads'],
      createdAt: new Date().toISOString(),
    };
    writeFileSync(path.join(dir, '7.json'), JSON.stringify(record));
    const counters = new Float64Array(2 * SLOT_FIELDS);
    counters.set([11, 42, 40], SLOT_FIELDS); // queue 1: enters, requests, completed
    counters[SLOT_FIELDS + 7] = 40; // its first target counter: reads
    counters[SLOT_FIELDS + QueueCounter.ServiceSumUs] = 120;
    counters[SLOT_FIELDS + QueueCounter.ServiceBuckets + 2] = 30; // up to 4 µs
    counters[SLOT_FIELDS + QueueCounter.ServiceBuckets + 5] = 10; // up to 32 µs
    writeFileSync(path.join(dir, '7.stats'), Buffer.from(counters.buffer));

    const started = spawn(process.execPath, ['--require', refuseKoffi, bin, 'metrics', '--listen', '127.0.0.1:0'], {
      env: { ...process.env, TSUBLK_RUN_DIR: dir },
    });
    daemon = started;
    let stderr = '';
    const url = await new Promise<string>((resolve, reject) => {
      started.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        const found = /serving metrics on (http:\/\/\S+\/metrics)/.exec(stderr)?.[1];
        if (found !== undefined) resolve(found);
      });
      started.once('exit', (status) => reject(new Error(`tsublk metrics exited ${status}: ${stderr}`)));
    });
    const scraped = await fetch(url);
    expect(scraped.status).toBe(200);
    expect(scraped.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const body = await scraped.text();
    expect(body).toContain('tsublk_requests_total{device="7",queue="1",target="null"} 42');
    expect(body).toContain('tsublk_in_flight{device="7",queue="1",target="null"} 2');
    expect(body).toContain('tsublk_target_reads{device="7",queue="1",target="null"} 40');
    expect(body).toContain('tsublk_service_seconds_bucket{device="7",queue="1",target="null",le="0.000004"} 30');
    expect(body).toContain('tsublk_service_seconds_bucket{device="7",queue="1",target="null",le="0.000032"} 40');
    expect(body).toContain('tsublk_service_seconds_count{device="7",queue="1",target="null"} 40');
    expect(body).toContain('tsublk_service_seconds_sum{device="7",queue="1",target="null"} 0.00012');
    expect((await fetch(url.replace('/metrics', '/'))).status).toBe(404);
    const exited = new Promise<number | null>((resolve) => started.once('exit', resolve));
    started.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('refuses a bad --listen in one line', () => {
    const result = spawn(process.execPath, [bin, 'metrics', '--listen', 'nope'], {
      env: { ...process.env, TSUBLK_RUN_DIR: dir },
    });
    return new Promise<void>((resolve) => {
      let stderr = '';
      result.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      result.once('exit', (status) => {
        expect(status).not.toBe(0);
        expect(stderr).toBe('tsublk: bad --listen nope: use [HOST]:PORT, as :9483 or 127.0.0.1:9483\n');
        resolve();
      });
    });
  });
});
