// The null target's fault injection (rnull's timeout_inject and requeue_inject) on real devices.
import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { type DeviceIds, cleanUp, leftovers, nothingLeft, ok, run, tsublk } from './cli.js';

const ids: DeviceIds = { first: 40, last: 49 };

afterEach(() => {
  cleanUp(ids);
  expect(leftovers(ids)).toEqual(nothingLeft);
});

function add(devId: number, ...options: string[]): void {
  const added = tsublk('add', '-t', 'null', '-n', String(devId), ...options);
  expect(added.status, added.stderr).toBe(0);
}

function set(devId: number, ...options: string[]): void {
  const changed = tsublk('set', '-n', String(devId), ...options);
  expect(changed.status, changed.stderr).toBe(0);
}

/** The device's stats counters, each summed over its queues (one tsublk stats run). */
function counters(devId: number): (name: string) => number {
  const stats = JSON.parse(tsublk('stats', '-n', String(devId), '--json').stdout) as {
    queues: Array<Record<string, number>>;
  };
  return (name) => stats.queues.reduce((sum, q) => sum + (q[name] ?? 0), 0);
}

/** Reads `count` 4 KiB blocks with O_DIRECT (one request each) from a 4 KiB block on. */
function directRead(devId: number, block: number, count = 1): { status: number | null; stderr: string; ms: number } {
  const started = Date.now();
  const dd = run('dd', [
    `if=/dev/ublkb${devId}`,
    'of=/dev/null',
    'bs=4096',
    `count=${count}`,
    `skip=${block}`,
    'iflag=direct',
    'status=none',
  ]);
  return { status: dd.status, stderr: dd.stderr, ms: Date.now() - started };
}

describe('timeout_inject', () => {
  it('holds a request for queue/io_timeout and fails it with ETIMEDOUT; set 0 serves again', () => {
    add(40, '--size', '1G'); // injection off while udev probes the new disk
    const ioTimeout = `/sys/block/ublkb40/queue/io_timeout`;
    writeFileSync(ioTimeout, '1500');
    expect(readFileSync(ioTimeout, 'utf8').trim()).toBe('1500');
    set(40, '--timeout_inject', '100');
    expect(tsublk('list', '-n', '40', '--json').stdout).toMatch(/"timeoutInject": 100/);

    const held = directRead(40, 8);
    process.stdout.write(
      `timeout_inject 100, io_timeout 1500 ms: dd exited ${held.status} after ${held.ms} ms: ${held.stderr.trim()}\n`,
    );
    expect(held.status).not.toBe(0);
    expect(held.stderr).toMatch(/Connection timed out/);
    expect(held.ms).toBeGreaterThanOrEqual(1500);
    expect(counters(40)('timeouts')).toBeGreaterThanOrEqual(1);

    set(40, '--timeout_inject', '0');
    const served = directRead(40, 0, 20); // 20 requests, one dd
    expect(served.status, served.stderr).toBe(0);
    const del = tsublk('del', '-n', '40');
    expect(del.status, del.stderr).toBe(0);
  });
});

describe('requeue_inject', () => {
  it('serves every requeued request again: fio verify finds no error', () => {
    add(41, '--size', '256M', '-q', '2', '--memory_backed', '1', '--requeue_inject', '50');
    expect(tsublk('list', '-n', '41', '--json').stdout).toMatch(/"requeueInject": 50/);
    const output = ok(
      'fio',
      '--name=rq',
      '--filename=/dev/ublkb41',
      '--ioengine=io_uring',
      '--direct=1',
      '--output-format=json',
      '--rw=randwrite',
      '--bs=4k',
      '--iodepth=8',
      '--size=16M',
      '--verify=crc32c',
      '--do_verify=1',
      '--verify_fatal=1',
      '--verify_state_save=0',
    );
    const job = (
      JSON.parse(output.slice(output.indexOf('{'))) as {
        jobs: Array<{ error: number; read: { io_bytes: number }; write: { io_bytes: number } }>;
      }
    ).jobs[0];
    expect(job?.error).toBe(0);
    expect(job?.read.io_bytes).toBe(16 * 2 ** 20);
    const counter = counters(41);
    const requeues = counter('requeues');
    const ios = counter('reads') + counter('writes');
    process.stdout.write(`requeue_inject 50: ${requeues} requeues for ${ios} I/Os\n`);
    // A request is put back with 50 % at each try: about one requeue per I/O on average.
    expect(requeues).toBeGreaterThan(ios / 2);
    expect(requeues).toBeLessThan(ios * 2);
  });
});
