// The examples in examples/ (built to dist/examples/ by npm run build), each served for real.
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { type DeviceIds, cleanUp, leftovers, nothingLeft, ok, run, tsublk } from './cli.js';

const example = (name: string): string => fileURLToPath(new URL(`../../dist/examples/${name}.js`, import.meta.url));
const image = '/tmp/tsublk-example.img';
const ids: DeviceIds = { first: 60, last: 69 };

afterEach(() => {
  cleanUp(ids);
  rmSync(image, { force: true });
  expect(leftovers(ids)).toEqual(nothingLeft);
});

function add(...args: string[]): void {
  const result = tsublk('add', ...args);
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
}

/** Each queue's counters (tsublk stats). */
function queueStats(devId: number): Array<Record<string, number>> {
  return (
    JSON.parse(tsublk('stats', '-n', String(devId), '--json').stdout) as { queues: Array<Record<string, number>> }
  ).queues;
}

describe('examples/', () => {
  it('hello-target: each queue counts what it served in its own HwData, and reads give zeros', () => {
    add('-t', example('hello-target'), '-q', '2', '-n', '60', '--size', '256M');
    ok(
      'fio',
      '--name=h',
      '--filename=/dev/ublkb60',
      '--rw=randrw',
      '--direct=1',
      '--ioengine=io_uring',
      '--iodepth=8',
      '--numjobs=2',
      '--bs=4k',
      '--io_size=4M',
      '--size=256M',
      '--cpus_allowed=0,1',
      '--cpus_allowed_policy=split',
    );
    const queues = queueStats(60);
    expect(queues).toHaveLength(2);
    for (const queue of queues) {
      expect(queue['reads']).toBeGreaterThan(0); // both queues served: the counters are per queue
      expect(queue['writes']).toBeGreaterThan(0);
    }
    expect(
      ok('sh', '-c', 'dd if=/dev/ublkb60 bs=64k count=1 iflag=direct status=none | tr -d "\\000" | wc -c').trim(),
    ).toBe('0');
  });

  it('delay-target: its own options are checked, and every request is held --delay_us over a file that keeps the data', () => {
    ok('truncate', '-s', '32M', image);
    const bad = tsublk('add', '-t', example('delay-target'), '--file', image, '--delay_us', '-1');
    expect(bad.stderr.trim()).toBe('tsublk: bad --delay_us -1: use --delay_us between 0 and 10000000 (10 s)');
    add('-t', example('delay-target'), '--file', image, '--delay_us', '20000', '-n', '61');
    const fio = run('fio', [
      '--name=d',
      '--filename=/dev/ublkb61',
      '--rw=randwrite',
      '--direct=1',
      '--ioengine=io_uring',
      '--iodepth=1',
      '--bs=4k',
      '--io_size=400k',
      '--verify=crc32c',
      '--do_verify=1',
      '--verify_fatal=1',
      '--output-format=json',
    ]);
    expect(fio.status).toBe(0);
    const job = (
      JSON.parse(fio.stdout.slice(fio.stdout.indexOf('{'))) as {
        jobs: Array<{ error: number; write: { lat_ns: { min: number } }; read: { io_bytes: number } }>;
      }
    ).jobs[0];
    expect(job?.error).toBe(0);
    expect(job?.read.io_bytes).toBe(400 * 1024); // every block verified
    // No write came back sooner than the delay (a floor: the example adds it, nothing can remove it).
    // Total latency, not clat: fio's io_uring engine starts clat when io_uring_enter returns, and
    // a submitter descheduled inside that call (17.5 ms once, in CI) shortens clat below the delay.
    expect(job?.write.lat_ns.min).toBeGreaterThanOrEqual(20e6);
  });

  it('xor-cipher: the file holds only ciphertext, and the same key reads the plaintext back', () => {
    ok('truncate', '-s', '16M', image);
    const plain = randomBytes(2 ** 20);
    writeFileSync('/tmp/tsublk-plain', plain);
    add('-t', example('xor-cipher'), '--file', image, '--key', 'a passphrase', '-n', '62');
    ok(
      'dd',
      'if=/tmp/tsublk-plain',
      'of=/dev/ublkb62',
      'bs=64k',
      'seek=16',
      'oflag=direct',
      'conv=fsync',
      'status=none',
    );
    expect(tsublk('del', '-n', '62').status).toBe(0);
    const stored = readFileSync(image).subarray(2 ** 20, 2 ** 21);
    const key = Buffer.from('a passphrase');
    expect(stored.equals(plain)).toBe(false);
    expect(stored.every((byte, i) => (byte ^ (key[(2 ** 20 + i) % key.length] ?? 0)) === plain[i])).toBe(true);
    add('-t', example('xor-cipher'), '--file', image, '--key', 'a passphrase', '-n', '62');
    ok('dd', 'if=/dev/ublkb62', 'of=/tmp/tsublk-read', 'bs=64k', 'skip=16', 'count=16', 'iflag=direct', 'status=none');
    expect(readFileSync('/tmp/tsublk-read').equals(plain)).toBe(true);
    rmSync('/tmp/tsublk-plain');
    rmSync('/tmp/tsublk-read');
  });
});
