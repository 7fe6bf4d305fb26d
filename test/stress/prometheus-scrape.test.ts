// A real Prometheus server (Debian's prometheus package) scrapes `tsublk metrics` while fio
// reads a device, and its HTTP API answers a query for tsublk's series. In test:stress: the
// server's start takes tens of seconds under TCG, more than npm test's budget allows.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanUp, leftovers, randomReads, tsublk, tsublkBin } from '../vm/cli.js';

const children: ChildProcess[] = [];
const dir = mkdtempSync(path.join(tmpdir(), 'tsublk-prometheus-'));
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  cleanUp();
  rmSync(dir, { recursive: true, force: true });
});

/** Starts a command and resolves with the first match of `pattern` in its stderr. */
function startAndWatch(command: string, args: string[], pattern: RegExp): Promise<RegExpExecArray> {
  const child = spawn(command, args, { cwd: dir });
  children.push(child);
  let stderr = '';
  return new Promise((resolve, reject) => {
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const match = pattern.exec(stderr);
      if (match !== null) resolve(match);
    });
    child.once('exit', (status) => reject(new Error(`${command} exited ${status}: ${stderr.slice(-2000)}`)));
  });
}

interface QueryAnswer {
  status: string;
  data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
}

describe('Prometheus scrapes tsublk metrics', () => {
  it('answers a query for tsublk_requests_total with the requests fio made', async () => {
    expect(tsublk('add', '-t', 'null', '-n', '0', '-q', '2', '--size', '1G').status).toBe(0);
    const [, target] = await startAndWatch(
      tsublkBin,
      ['metrics', '--listen', '127.0.0.1:0'],
      /on http:\/\/(\S+)\/metrics/,
    );
    writeFileSync(
      path.join(dir, 'prometheus.yml'),
      `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: tsublk\n    static_configs:\n      - targets: ['${target}']\n`,
    );
    const api = 'http://127.0.0.1:19090';
    await startAndWatch(
      'prometheus',
      [
        `--config.file=${path.join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        '--web.listen-address=127.0.0.1:19090',
      ],
      /Server is ready to receive web requests/,
    );
    await randomReads('/dev/ublkb0', 5);
    const query = `${api}/api/v1/query?query=${encodeURIComponent('sum(tsublk_requests_total{device="0"})')}`;
    let total = 0;
    for (let tries = 0; tries < 60 && total === 0; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const answer = (await (await fetch(query)).json()) as QueryAnswer;
      expect(answer.status).toBe('success');
      total = Number(answer.data.result[0]?.value[1] ?? 0);
    }
    const counted = JSON.parse(tsublk('stats', '-n', '0', '--json').stdout) as { queues: Array<{ requests: number }> };
    const requests = counted.queues.reduce((sum, queue) => sum + queue.requests, 0);
    expect(total).toBeGreaterThan(0);
    expect(total).toBeLessThanOrEqual(requests); // what Prometheus saw at its last scrape, no more
    const up = (await (await fetch(`${api}/api/v1/query?query=up`)).json()) as QueryAnswer;
    expect(up.data.result.map((series) => series.value[1])).toEqual(['1']); // the scrape worked
    expect(tsublk('del', '-n', '0').status).toBe(0);
    expect(leftovers()).toEqual({ devices: [], daemons: [], runFiles: [] });
  });
});
