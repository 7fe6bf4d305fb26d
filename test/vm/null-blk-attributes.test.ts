// The null target's null_blk attributes on real devices: irqmode, completion_nsec, init_hctx_fail.
import { readFileSync, rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanUp, leftovers, listedDevice, ok, okAsync, run, tsublk, tsublkAsync, tsublkBin } from './cli.js';

afterEach(() => {
  cleanUp();
  expect(leftovers()).toEqual({ devices: [], daemons: [], runFiles: [] });
});

interface Listed {
  daemon_pid: number;
  queues: Array<{ tid: number }>;
  target: { config: Record<string, unknown> };
  stats?: Array<{ enters: number; requests: number }>;
}

function listed(devId: number, verbose = false): Listed {
  const view = listedDevice<Listed>(devId, ...(verbose ? ['-v'] : []));
  if (view === undefined) throw new Error(`tsublk list -n ${devId} failed`);
  return view;
}

/** fio's arguments for 4k random reads at QD1 for `seconds`, with its JSON report. */
function qd1Args(device: string, seconds: number, extra: string[]): string[] {
  return [
    '--name=lat',
    `--filename=${device}`,
    '--rw=randread',
    '--bs=4k',
    '--iodepth=1',
    '--direct=1',
    '--ioengine=io_uring',
    '--time_based',
    `--runtime=${seconds}`,
    '--output-format=json',
    ...extra,
  ];
}

/** Mean completion latency (µs) and count of the reads in fio's JSON report `output`. */
function qd1Result(output: string): { meanUs: number; ios: number } {
  const job = (
    JSON.parse(output.slice(output.indexOf('{'))) as {
      jobs: Array<{ error: number; read: { total_ios: number; lat_ns: { mean: number } } }>;
    }
  ).jobs[0];
  expect(job?.error).toBe(0);
  return { meanUs: (job?.read.lat_ns.mean ?? 0) / 1000, ios: job?.read.total_ios ?? 0 };
}

/** Mean completion latency (µs) of 4k random reads at QD1 for `seconds`. */
function qd1LatencyUs(device: string, seconds: number, extra: string[] = []): { meanUs: number; ios: number } {
  return qd1Result(ok('fio', ...qd1Args(device, seconds, extra)));
}

/** qd1LatencyUs without blocking, so that measurements of several devices share one window. */
async function qd1LatencyUsAsync(
  device: string,
  seconds: number,
  extra: string[],
): Promise<{ meanUs: number; ios: number }> {
  return qd1Result(await okAsync('fio', ...qd1Args(device, seconds, extra)));
}

/** The schedstat files of the device's queue threads (as list names them). */
function queueThreadStats(devId: number): string[] {
  const view = listed(devId);
  return view.queues.map((queue) => `/proc/${view.daemon_pid}/task/${queue.tid}/schedstat`);
}

/** CPU seconds the threads of `schedstats` have run so far (schedstat: exact, not tick-sampled). */
function cpuSeconds(schedstats: readonly string[]): number {
  return schedstats.reduce((sum, file) => sum + Number(readFileSync(file, 'utf8').split(' ')[0]) / 1e9, 0);
}

/**
 * Runs 1 s of QD32 random reads on each device, all at once (one fio job each): the server's
 * JavaScript is compiled hot, as it is in steady state.
 */
function warmUp(...devices: string[]): void {
  ok(
    'fio',
    // Global options first: fio gives an option after --name to that job alone.
    '--rw=randread',
    '--bs=4k',
    '--iodepth=32',
    '--direct=1',
    '--ioengine=io_uring',
    '--time_based',
    '--runtime=1',
    ...devices.flatMap((device, index) => [`--name=warm${index}`, `--filename=${device}`]),
  );
}

describe('irqmode and completion_nsec', () => {
  it('irqmode 2 adds completion_nsec to each request (1 ms more at QD1 than irqmode 0) and sleeps in between', async () => {
    const devices = [
      [],
      ['--irqmode', '2', '--completion_nsec', '1000000'],
      ['--irqmode', '2', '--completion_nsec', '100000'],
    ];
    // The three adds side by side: the guest's two CPUs share their starts.
    const added = await Promise.all(
      devices.map((options, devId) =>
        tsublkAsync('add', '-t', 'null', '-n', String(devId), '-q', '1', '--size', '1G', ...options),
      ),
    );
    expect(added.map((result) => result.status)).toEqual([0, 0, 0]);
    expect(listed(1).target.config).toMatchObject({ irqmode: 2, completionNsec: 1_000_000 });
    warmUp('/dev/ublkb0', '/dev/ublkb1', '/dev/ublkb2');

    const immediate = qd1LatencyUs('/dev/ublkb0', 1);
    const timed = qd1LatencyUs('/dev/ublkb1', 1); // about 300 requests of 1 ms and more
    const addedMs = (timed.meanUs - immediate.meanUs) / 1000;
    process.stdout.write(
      `irqmode 0: ${immediate.meanUs.toFixed(1)} µs, irqmode 2 with 1 ms: ${timed.meanUs.toFixed(1)} µs, added ${addedMs.toFixed(3)} ms\n`,
    );
    expect(addedMs).toBeGreaterThanOrEqual(1.0); // never early
    // How close to null_blk's 1.2 ms it lands is a measurement, not a test: 1.12-1.20 ms on a
    // quiet host, 1.355 ms once on a busy one, 2.02 ms on a host running 10x slow. The bound
    // catches a completion that waits for an unrelated wake-up (the 100 ms idle tick).
    expect(addedMs).toBeLessThanOrEqual(5.0);

    // 50 requests a second: a queue that spun while a completion was due, or between requests,
    // would use a whole CPU; this one costs about what irqmode 0 does. Both devices in one window.
    const cpuShare = async (devId: number, schedstats: readonly string[]): Promise<number> => {
      const cpuBefore = cpuSeconds(schedstats);
      const started = Date.now();
      expect((await qd1LatencyUsAsync(`/dev/ublkb${devId}`, 2, ['--rate_iops=50'])).ios).toBeGreaterThan(50);
      return (cpuSeconds(schedstats) - cpuBefore) / ((Date.now() - started) / 1000);
    };
    const [timedThreads, immediateThreads] = [queueThreadStats(2), queueThreadStats(0)];
    const [timedShare, immediateShare] = await Promise.all([cpuShare(2, timedThreads), cpuShare(0, immediateThreads)]);
    process.stdout.write(
      `50 IOPS at QD1: queue CPU irqmode 2 (100 µs) ${(timedShare * 100).toFixed(1)} %, irqmode 0 ${(immediateShare * 100).toFixed(1)} %\n`,
    );
    expect(timedShare).toBeLessThan(0.25);
    // Per request, irqmode 2 wakes twice (arrival, then its timer) where irqmode 0 wakes once, and
    // may check again at once for up to the 100 µs delay: 1.6x irqmode 0 on a quiet host, 3.6x on
    // a slow one. A spin between requests would be 10x and more.
    expect(timedShare).toBeLessThan(4 * immediateShare + 0.02);
  });

  it('irqmode 1 completes at the end of each batch, and every mode serves fio randrw with no error', async () => {
    const modes = [
      [3, '1'],
      [4, '2'],
    ] as const;
    // The adds side by side: the guest's two CPUs share their starts.
    const added = await Promise.all(
      modes.map(([devId, irqmode]) =>
        tsublkAsync('add', '-t', 'null', '-n', String(devId), '--size', '1G', '--irqmode', irqmode),
      ),
    );
    expect(added.map((result) => result.status)).toEqual([0, 0]);
    for (const [devId] of modes) {
      const output = ok(
        'fio',
        '--name=t',
        `--filename=/dev/ublkb${devId}`,
        '--rw=randrw',
        '--bs=4k',
        '--iodepth=32',
        '--numjobs=2',
        '--direct=1',
        '--ioengine=io_uring',
        '--time_based',
        '--runtime=1',
        '--group_reporting',
        '--output-format=json',
      );
      const job = (
        JSON.parse(output.slice(output.indexOf('{'))) as { jobs: Array<{ error: number; read: { total_ios: number } }> }
      ).jobs[0];
      expect(job?.error).toBe(0);
      expect(job?.read.total_ios).toBeGreaterThan(100);
      // stats: each queue's HwData counters, every request ended, none in flight once fio is done.
      const shown = tsublk('stats', '-n', String(devId), '--json');
      expect(shown.status, shown.stderr).toBe(0);
      const queues = (JSON.parse(shown.stdout) as { queues: Array<Record<string, number>> }).queues;
      expect(queues).toHaveLength(2);
      const total = (name: string): number => queues.reduce((sum, q) => sum + (q[name] ?? 0), 0);
      expect(total('reads')).toBeGreaterThanOrEqual(job?.read.total_ios ?? 0);
      expect(total('completed')).toBe(total('requests'));
      expect(total('in_flight')).toBe(0);
      expect(total('errors')).toBe(0);
      expect(tsublk('stats', '-n', String(devId)).stdout).toMatch(
        /^\tqueue 1: requests \d+ completed \d+ in_flight 0 errors 0 target_failures 0 enters \d+ spins \d+ spin_hits \d+ reads \d+/m,
      );
    }
  });
});

describe('init_hctx_fail', () => {
  it('fails add in one line and leaves no device, no daemon, and every queue set up torn down', () => {
    const trace = '/tmp/tsublk-hctx.trace';
    rmSync(trace, { force: true });
    const add = run(tsublkBin, ['add', '-t', 'null', '-n', '5', '-q', '2', '--size', '1G', '--init_hctx_fail', '1'], {
      env: { TSUBLK_HCTX_TRACE: trace },
    });
    expect(add.status).toBe(1);
    expect(add.stderr.trim()).toBe('tsublk: queue 1: initHctx of queue 1 fails on purpose (--init_hctx_fail 1)');
    const events = readFileSync(trace, 'utf8').trim().split('\n').sort();
    // Queues set up before or beside queue 2 each get exactly one exitHctx; queue 2 none.
    const inits = events.filter((e) => e.startsWith('init ')).map((e) => e.slice(5));
    const exits = events.filter((e) => e.startsWith('exit ')).map((e) => e.slice(5));
    expect(inits).not.toContain('1');
    expect(exits).toEqual(inits);
    expect(leftovers()).toEqual({ devices: [], daemons: [], runFiles: [] });
  });

  it('refuses a queue the kernel did not give the device (at most one per CPU), leaving nothing', () => {
    const cpus = readFileSync('/sys/devices/system/cpu/online', 'utf8').trim(); // e.g. 0-1
    const queues = Number(/(\d+)$/.exec(cpus)?.[1]) + 1;
    const add = tsublk(
      'add',
      '-t',
      'null',
      '-n',
      '6',
      '-q',
      String(queues + 2),
      '--size',
      '1G',
      '--init_hctx_fail',
      String(queues),
    );
    expect(add.status).toBe(1);
    expect(add.stderr.trim()).toBe(
      `tsublk: bad --init_hctx_fail ${queues}: the device has ${queues} queue(s) (the kernel gives at most one per CPU); use an index below ${queues}`,
    );
    expect(leftovers()).toEqual({ devices: [], daemons: [], runFiles: [] });
  });
});
