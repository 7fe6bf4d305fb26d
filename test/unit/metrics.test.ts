import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { metricsText } from '../../src/cli/metrics-text.js';
import { SLOT_FIELDS } from '../../src/ublk/stats-file.js';

const bin = fileURLToPath(new URL('../../bin/tsublk', import.meta.url));
/** Preloaded, it makes any load of Koffi fail: the metrics server opens no device and loads no target. */
const refuseKoffi = fileURLToPath(new URL('../support/refuse-koffi.cjs', import.meta.url));

/** A sample line of the Prometheus text format: name{labels} value. */
const SAMPLE = /^[a-zA-Z_:][a-zA-Z0-9_:]*\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\} [-+0-9.eEInfNa]+$/;

describe('the Prometheus text format of the counters', () => {
  const text = metricsText([
    {
      devId: 3,
      target: 'null',
      queues: [
        { enters: 10, requests: 100, completed: 98, errors: 1, target_failures: 0, spins: 4, spin_hits: 2, reads: 60 },
        { enters: 5, requests: 50, completed: 50, errors: 0, target_failures: 0, spins: 0, spin_hits: 0, reads: 50 },
      ],
    },
    { devId: 4, target: 'my "t"', queues: [{ requests: 7, completed: 7, 'weird-name': 1.5 }] },
  ]);
  const lines = text.trimEnd().split('\n');

  it('gives every sample a family with HELP and TYPE before it, its samples together', () => {
    const seen = new Set<string>();
    let current = '';
    for (const line of lines) {
      const type = /^# TYPE (\S+) (counter|gauge|untyped)$/.exec(line);
      if (type !== null) {
        expect(seen.has(type[1] ?? '')).toBe(false); // each family once
        seen.add(type[1] ?? '');
        current = type[1] ?? '';
        continue;
      }
      if (line.startsWith('# HELP ')) continue;
      expect(line).toMatch(SAMPLE);
      expect(line.split('{')[0]).toBe(current);
    }
    expect([...seen]).toEqual(
      expect.arrayContaining([
        'tsublk_requests_total',
        'tsublk_completed_total',
        'tsublk_errors_total',
        'tsublk_enters_total',
        'tsublk_in_flight',
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

  it('is empty with no device', () => {
    expect(metricsText([])).toBe('');
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
