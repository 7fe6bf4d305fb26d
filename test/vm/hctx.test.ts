import { existsSync, readFileSync, rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanUp, leftovers, listedDevice, ok, run, tsublkBin } from './cli.js';

const probe = new URL('./fixtures/probe-target.mjs', import.meta.url).pathname;
const logFile = '/tmp/tsublk-probe.log';

function addProbe(env: Record<string, string>, ...args: string[]): ReturnType<typeof run> {
  rmSync(logFile, { force: true });
  return run(tsublkBin, ['add', '-t', probe, '--size', '1G', ...args], { env: { TSUBLK_PROBE_LOG: logFile, ...env } });
}

const events = (): string[][] => readFileSync(logFile, 'utf8').trim().split('\n').map((line) => line.split(' '));

afterEach(() => {
  cleanUp();
  expect(leftovers()).toEqual({ devices: [], daemons: [], runFiles: [] });
});

describe('the hctx contract, watched through a target module', () => {
  it('runs initHctx once per queue before its first queueRq, which gets that same object; exitHctx once per queue on delete', () => {
    expect(addProbe({}, '-q', '2', '-n', '0').status).toBe(0);
    ok('fio', '--name=t', '--filename=/dev/ublkb0', '--rw=randrw', '--direct=1', '--ioengine=io_uring', '--iodepth=16', '--numjobs=2', '--bs=4k', '--size=64M', '--io_size=16M', '--group_reporting');
    expect(run(tsublkBin, ['del', '-n', '0']).status).toBe(0);

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
    const served = lines.filter((e) => e[0] === 'exit').reduce((sum, e) => sum + Number(e[4]), 0);
    expect(served).toBeGreaterThan(0);
  });

  it('runs exitHctx for every queue already set up when a later queue fails, and leaves nothing', () => {
    const result = addProbe({ TSUBLK_PROBE_FAIL_QUEUE: '1' }, '-q', '2', '-n', '1');
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe('tsublk: queue 1: probe: initHctx of queue 1 fails on purpose');
    const lines = events().map((e) => `${e[0]} ${e[1]}`);
    expect(lines.filter((l) => l.startsWith('init-fail'))).toEqual(['init-fail 1']);
    expect(lines.filter((l) => l === 'init 0').length).toBe(lines.filter((l) => l === 'exit 0').length);
    expect(lines).not.toContain('exit 1');
  });

  it("logs a target's throw in queueRq with its stack in the device's log, then stops the device", () => {
    const deviceLog = '/run/tsublk/2.log';
    rmSync(deviceLog, { force: true });
    expect(addProbe({ TSUBLK_PROBE_THROW_AT_SECTOR: '8192' }, '-q', '1', '-n', '2').status).toBe(0);
    // Sector 8192 is 4 MiB in: the partition scan at start never reads it.
    const dd = run('dd', ['if=/dev/ublkb2', 'of=/dev/null', 'bs=4k', 'skip=1024', 'count=1', 'iflag=direct']);
    expect(dd.status).not.toBe(0);
    const deadline = Date.now() + 30_000;
    while (listedDevice(2) !== undefined && Date.now() < deadline) run('sleep', ['0.2']);
    expect(listedDevice(2)).toBeUndefined();
    expect(existsSync('/dev/ublkb2')).toBe(false);
    const log = readFileSync(deviceLog, 'utf8');
    rmSync(deviceLog, { force: true });
    expect(log).toMatch(/queue 0 failed: Error: probe: queueRq throws on purpose at sector 8192\n\s+at .*probe-target\.mjs:\d+:\d+/);
    expect(log).toContain('a queue stopped serving on its own: stopping the device');
  });
});
