// An nbd device under fio write+verify while its server is killed (-9) and restarted, cycle after
// cycle: every request the dead server had is held and sent again to the new one; fio verifies
// every block it wrote. In test:stress: each cycle is seconds of fio.
import type { ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanUp, fioWriteVerify, leftovers, listening, ok, startListening, tsublk } from '../vm/cli.js';

const CYCLES = 20;
const PORT = 10811;
const image = '/dev/shm/tsublk-nbd-stress.img';
const servers: ChildProcess[] = [];

afterAll(() => {
  for (const server of servers) server.kill('SIGKILL');
  cleanUp();
  rmSync(image, { force: true });
  expect(leftovers()).toEqual({ devices: [], daemons: [], runFiles: [] });
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('nbd reconnect cycles', () => {
  it(`fio write+verify on 2 queues sees no error through ${CYCLES} kill -9 and restarts of nbdkit`, async () => {
    ok('truncate', '-s', '1G', image);
    const nbdkit = (): Promise<ChildProcess> =>
      startListening('nbdkit', ['-f', '--port', String(PORT), 'file', `file=${image}`], () => listening(PORT), servers);
    let server = await nbdkit();
    const added = tsublk('add', '-t', 'nbd', '-n', '0', '--host', '127.0.0.1', '--port', String(PORT), '-q', '2');
    expect(added.status, added.stderr).toBe(0);
    const started = Date.now();
    // 4 MiB/s of writes (then as much verify): longer than the cycles take.
    const fio = fioWriteVerify('/dev/ublkb0', {
      size: '512M',
      io_size: `${CYCLES * 10}M`,
      iodepth: 32,
      rate_iops: 1000,
    });
    const downMs: number[] = [];
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      await sleep(1000 + Math.random() * 1000);
      server.kill('SIGKILL');
      await new Promise((resolve) => server.once('exit', resolve));
      const down = Date.now();
      await sleep(Math.random() * 1000);
      server = await nbdkit();
      downMs.push(Date.now() - down);
    }
    const verified = await fio;
    const elapsed = (Date.now() - started) / 1000;
    expect(verified.status).toBe(0);
    expect(verified.job?.error).toBe(0);
    const stats = JSON.parse(tsublk('stats', '-n', '0', '--json').stdout) as { queues: Array<Record<string, number>> };
    const sum = (name: string): number => stats.queues.reduce((total, queue) => total + (queue[name] ?? 0), 0);
    const log = readFileSync('/run/tsublk/0.log', 'utf8');
    process.stdout.write(
      `nbd reconnect cycles: ${CYCLES} server kills in ${elapsed.toFixed(0)} s, down ${Math.min(...downMs)}-${Math.max(...downMs)} ms; fio wrote ${(verified.job?.write.io_bytes ?? 0) / 2 ** 20} MiB and verified ${(verified.job?.read.io_bytes ?? 0) / 2 ** 20} MiB, 0 errors; losses ${sum('connection_losses')}, reconnects ${sum('reconnects')}, requests failed ${sum('connection_errors')}, re-sent ${[...log.matchAll(/; (\d+) request\(s\) sent again/g)].reduce((n, m) => n + Number(m[1]), 0)}\n`,
    );
    expect(sum('reconnects')).toBeGreaterThanOrEqual(CYCLES);
    expect(sum('connection_errors')).toBe(0);
    expect(log).not.toMatch(/failed with EIO/);
    expect(tsublk('del', '-n', '0').status).toBe(0);
  });
});
