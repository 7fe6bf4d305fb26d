import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { pollUntil } from '../support/poll.js';
import { type DeviceIds, cleanUp, leftovers, listedDevice, nothingLeft, ok, run, tsublkBin } from './cli.js';

const probe = new URL('./fixtures/probe-target.mjs', import.meta.url).pathname;
const logFile = '/tmp/tsublk-probe.log';
const ids: DeviceIds = { first: 80, last: 89 };

function addProbe(env: Record<string, string>, ...args: string[]): ReturnType<typeof run> {
  rmSync(logFile, { force: true });
  return run(tsublkBin, ['add', '-t', probe, '--size', '1G', ...args], { env: { TSUBLK_PROBE_LOG: logFile, ...env } });
}

const events = (): string[][] =>
  readFileSync(logFile, 'utf8')
    .trim()
    .split('\n')
    .map((line) => line.split(' '));

afterEach(() => {
  cleanUp(ids);
  expect(leftovers(ids)).toEqual(nothingLeft);
});

describe('the hctx contract, watched through a target module', () => {
  it('runs initHctx once per queue before its first queueRq, which gets that same object; exitHctx once per queue on delete', () => {
    expect(addProbe({}, '-q', '2', '-n', '80', '--delay_us', '7').status).toBe(0);
    ok(
      'fio',
      '--name=t',
      '--filename=/dev/ublkb80',
      '--rw=randrw',
      '--direct=1',
      '--ioengine=io_uring',
      '--iodepth=16',
      '--numjobs=2',
      '--bs=4k',
      '--size=64M',
      '--io_size=16M',
      '--group_reporting',
    );
    expect(run(tsublkBin, ['del', '-n', '80']).status).toBe(0);

    const lines = events();
    for (const queue of ['0', '1']) {
      const mine = lines.filter((event) => event[1] === queue);
      const init = mine.filter((e) => e[0] === 'init');
      const exit = mine.filter((e) => e[0] === 'exit');
      expect(init, `queue ${queue}`).toHaveLength(1);
      expect(exit, `queue ${queue}`).toHaveLength(1);
      const id = init[0]?.[2];
      // The first request came after init, to the object init returned, and nothing arrived elsewhere.
      const firstRequest = mine.findIndex((e) => e[0] === 'first-request');
      if (firstRequest >= 0) {
        expect(firstRequest).toBeGreaterThan(mine.indexOf(init[0] ?? []));
        expect(mine[firstRequest]?.[2]).toBe(id);
      }
      expect(exit[0]?.slice(2)).toEqual([id, 'requests', exit[0]?.[4], 'mismatches', '0']);
      expect(mine.indexOf(exit[0] ?? [])).toBe(mine.length - 1);
    }
    // The module's own option reached its plan, and through the configuration every queue.
    expect(
      lines
        .filter((e) => e[0] === 'option')
        .map((e) => e.join(' '))
        .sort(),
    ).toEqual(['option 0 delay_us 7', 'option 1 delay_us 7']);
    const served = lines.filter((e) => e[0] === 'exit').reduce((sum, e) => sum + Number(e[4]), 0);
    expect(served).toBeGreaterThan(0);
  });

  it('runs exitHctx for every queue already set up when a later queue fails, and leaves nothing', () => {
    const result = addProbe({ TSUBLK_PROBE_FAIL_QUEUE: '1' }, '-q', '2', '-n', '81');
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe('tsublk: queue 1: probe: initHctx of queue 1 fails on purpose');
    const lines = events().map((e) => `${e[0]} ${e[1]}`);
    expect(lines.filter((l) => l.startsWith('init-fail'))).toEqual(['init-fail 1']);
    expect(lines.filter((l) => l === 'init 0').length).toBe(lines.filter((l) => l === 'exit 0').length);
    expect(lines).not.toContain('exit 1');
  });

  it('fails with EIO exactly the requests whose queueRq threw or left open, logs each with its stack, and serves on', () => {
    expect(
      addProbe({ TSUBLK_PROBE_THROW_EVERY_WRITE: '100', TSUBLK_PROBE_ASYNC_AT_SECTOR: '8192' }, '-q', '1', '-n', '82')
        .status,
    ).toBe(0);
    // 900 sequential 4k writes at depth 1: write k goes to block k-1, one request each. Nine
    // throws and the open request below make ten failures: all of them logged (10 per 5 s).
    const fio = run('fio', [
      '--name=w',
      '--filename=/dev/ublkb82',
      '--rw=write',
      '--bs=4k',
      '--size=3600k',
      '--direct=1',
      '--ioengine=io_uring',
      '--iodepth=1',
      '--continue_on_error=io',
      '--output-format=json',
    ]);
    const job = (JSON.parse(fio.stdout) as { jobs: Array<{ total_err: number }> }).jobs[0];
    const threw = events()
      .filter((e) => e[0] === 'threw')
      .map((e) => Number(e[2]));
    expect(threw).toEqual(Array.from({ length: 9 }, (_, k) => (100 * (k + 1) - 1) * 8));
    expect(job?.total_err).toBe(threw.length);
    // A queueRq that returned a promise and left its request open: that read fails, nothing hangs.
    const dd = run('dd', ['if=/dev/ublkb82', 'of=/dev/null', 'bs=4k', 'skip=1024', 'count=1', 'iflag=direct'], {
      timeoutMs: 30_000,
    });
    expect(dd.stderr).toMatch(/Input\/output error/);

    expect(listedDevice<{ state: string }>(82)?.state).toBe('LIVE');
    const stats = JSON.parse(run(tsublkBin, ['stats', '-n', '82', '--json']).stdout) as {
      queues: Array<Record<string, number>>;
    };
    expect(stats.queues[0]).toMatchObject({ errors: 10, target_failures: 10, in_flight: 0 });
    const log = run(tsublkBin, ['log', '-n', '82']);
    expect(log.status).toBe(0);
    expect(
      log.stdout.match(
        /error queue 0: the target's queueRq threw .*; the request failed with EIO: Error: probe: queueRq throws on purpose for write \d+ at sector \d+\n\s+at .*probe-target\.mjs:\d+:\d+/g,
      ),
    ).toHaveLength(9);
    expect(log.stdout).toMatch(/queueRq returned a value \(an async function\?\) and left the request open/);
    expect(log.stdout).toMatch(/^\S+ info LIVE: target probe, 1 queue\(s\)/m);
    // It still serves: a clean read.
    expect(run('dd', ['if=/dev/ublkb82', 'of=/dev/null', 'bs=4k', 'count=16', 'iflag=direct']).status).toBe(0);
  });

  it('stops the device when commitRqs throws, after ending what the round ended, logs why with the stack, and add --foreground exits 4', async () => {
    const deviceLog = '/run/tsublk/83.log';
    rmSync(deviceLog, { force: true });
    rmSync(logFile, { force: true });
    // In the foreground, as a supervisor runs it: the exit status says a target failed.
    const child = spawn(tsublkBin, ['add', '-t', probe, '--size', '1G', '-q', '1', '-n', '83', '--foreground'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TSUBLK_PROBE_LOG: logFile, TSUBLK_PROBE_COMMIT_THROW_AT_SECTOR: '8192' },
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await pollUntil(() => stdout.includes('state LIVE'), 60_000, 100);
    expect(stdout).toContain('state LIVE');
    // Sector 8192 is 4 MiB in: the partition scan at start never reads it.
    // The probe's queueRq ended this read before commitRqs threw: the failing queue still commits
    // what its target ended (and fails with EIO what it had not), so the read completes and
    // nothing is left for the stop to wait on (on 7.x it would wait forever).
    const dd = run('dd', ['if=/dev/ublkb83', 'of=/dev/null', 'bs=4k', 'skip=1024', 'count=1', 'iflag=direct']);
    expect(dd.status).toBe(0);
    expect(await exited).toBe(EXIT.TARGET_FAILED);
    expect(listedDevice(83)).toBeUndefined();
    expect(existsSync('/dev/ublkb83')).toBe(false);
    const log = readFileSync(deviceLog, 'utf8');
    rmSync(deviceLog, { force: true });
    expect(log).toMatch(
      /error queue 0 failed: Error: probe: commitRqs throws on purpose\n\s+at .*probe-target\.mjs:\d+:\d+/,
    );
    expect(log).toContain('error a queue stopped serving on its own: stopping the device');
  });
});
