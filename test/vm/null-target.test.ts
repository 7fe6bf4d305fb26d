import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { threadCpusNow } from '../../src/cli/thread-cpus.js';
import {
  type Run,
  cleanUp,
  kernelFeatures,
  leftovers,
  listedDevice,
  ok,
  run,
  submitterCpus,
  tsublk,
  tsublkAsync,
} from './cli.js';

afterEach(() => {
  cleanUp();
  expect(leftovers()).toEqual({ devices: [], daemons: [], runFiles: [] });
});

function fio(device: string, rw: string, seconds: number): string {
  return ok(
    'fio',
    '--name=t',
    `--filename=${device}`,
    `--rw=${rw}`,
    '--direct=1',
    '--ioengine=io_uring',
    '--iodepth=32',
    '--numjobs=2',
    '--bs=4k',
    '--time_based',
    `--runtime=${seconds}`,
    '--group_reporting',
    '--output-format=json',
  );
}

function fioErrors(output: string, kind: 'read' | 'write'): { errors: number; ios: number } {
  const report = JSON.parse(output.slice(output.indexOf('{'))) as {
    jobs: Array<{ error: number; read: { total_ios: number }; write: { total_ios: number } }>;
  };
  const job = report.jobs[0];
  if (job === undefined) throw new Error('fio reported no job');
  return { errors: job.error, ios: job[kind].total_ios };
}

describe('tsublk add -t null', () => {
  it('creates /dev/ublkb0 of the size asked, which fio reads and writes with no error; --bs 4096 gives a 4096-byte logical block size', async () => {
    // The two devices added side by side: the guest's two CPUs share their starts.
    const [add, add4k] = await Promise.all([
      tsublkAsync('add', '-t', 'null', '-q', '2', '-n', '0', '--size', '1G'),
      tsublkAsync('add', '-t', 'null', '-n', '1', '--bs', '4096', '--size', '1G'),
    ]);
    expect(add4k.status, add4k.stderr).toBe(0);
    expect(ok('blockdev', '--getss', '/dev/ublkb1').trim()).toBe('4096');
    expect(ok('blockdev', '--getsize64', '/dev/ublkb1').trim()).toBe(String(2 ** 30));
    expect(add.stderr).toBe('');
    expect(add.status).toBe(0);
    expect(add.stdout).toMatch(/^dev id 0: nr_hw_queues 2 queue_depth 128 block size 512 dev_capacity 2097152$/m);
    expect(ok('blockdev', '--getsize64', '/dev/ublkb0').trim()).toBe(String(2 ** 30));
    expect(ok('blockdev', '--getss', '/dev/ublkb0').trim()).toBe('512');

    const reads = fioErrors(fio('/dev/ublkb0', 'randread', 1), 'read');
    expect(reads.errors).toBe(0);
    expect(reads.ios).toBeGreaterThan(1000);
    const writes = fioErrors(fio('/dev/ublkb0', 'randwrite', 1), 'write');
    expect(writes.errors).toBe(0);
    expect(writes.ios).toBeGreaterThan(1000);

    expect(tsublk('del', '-n', '0').status).toBe(0);
  });

  it('lists devices in the ublk utility shape, as JSON, and the kernel features', () => {
    expect(tsublk('add', '-t', 'null', '-n', '3').status).toBe(0);
    const text = tsublk('list').stdout;
    const lines = text.split('\n');
    expect(lines[0]).toBe('dev id 3: nr_hw_queues 2 queue_depth 128 block size 512 dev_capacity 524288000');
    // Scripts read the daemon pid as field 7 and the state as field 9 of the second line.
    const second = (lines[1] ?? '').trim().split(/\s+/);
    expect(second[8]).toBe('LIVE');
    const pid = Number(second[6]);
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toContain('serve');
    expect(lines[2]).toMatch(/^\tflags 0x[0-9a-f]+ \[ (\w+ )*\]$/);
    expect(lines[3]).toMatch(/^\tublkc: \d+:\d+ ublkb: \d+:\d+ owner: 0:0$/);
    for (const q of [0, 1]) {
      const queue = (lines[4 + q] ?? '').trim().split(/\s+/);
      expect(queue.slice(0, 3)).toEqual(['queue', `${q}:`, 'tid']);
      expect(existsTask(pid, Number(queue[3]))).toBe(true); // field 4: a thread of the daemon
      // The queue's thread runs where list says, beside the CPUs that submit to its queue
      // (--placement beside, the default), where any CPU does not.
      const affinity = listedAffinity(lines[4 + q] ?? '');
      expect(threadCpusNow(pid, Number(queue[3]))).toEqual(affinity);
      const submitters = submitterCpus(3, q);
      if (submitters.length < availableParallelism())
        expect(affinity.filter((cpu) => submitters.includes(cpu))).toEqual([]);
    }
    expect(JSON.parse((lines[6] ?? '').replace(/^\ttarget /, ''))).toEqual({
      dev_size: 268435456000,
      name: 'null',
      type: 0,
    });
    // -v: each queue's live counters, kept by the null target in its HwData.
    ok('dd', 'if=/dev/ublkb3', 'of=/dev/null', 'bs=4k', 'count=256', 'iflag=direct');
    const verbose = tsublk('list', '-v').stdout;
    expect(verbose.startsWith(text.trimEnd())).toBe(true);
    const stats = verbose.split('\n').filter((line) => line.startsWith('\tstats queue '));
    expect(stats).toHaveLength(2);
    const field = (line: string, name: string): number => Number(new RegExp(`\\b${name} (\\d+)`).exec(line)?.[1]);
    expect(stats.reduce((sum, line) => sum + field(line, 'reads'), 0)).toBeGreaterThanOrEqual(256);
    expect(stats.reduce((sum, line) => sum + field(line, 'read_bytes'), 0)).toBeGreaterThanOrEqual(256 * 4096);
    // A queue that served reads entered the kernel to get them; an idle queue may not have yet.
    const serving = stats.filter((line) => field(line, 'reads') > 0);
    expect(serving.length).toBeGreaterThan(0);
    expect(serving.every((line) => field(line, 'enters') > 0)).toBe(true);
    // Each queue's service times: every request it handed back, timed.
    const service = verbose.split('\n').filter((line) => line.startsWith('\tservice queue '));
    expect(service).toHaveLength(2);
    expect(service.map((line) => field(line, 'count'))).toEqual(stats.map((line) => field(line, 'completed')));
    expect(service.every((line) => /\bp50_us \d+ p99_us \d+ p999_us \d+$/.test(line))).toBe(true);

    const json = JSON.parse(tsublk('list', '--json').stdout) as Array<{
      dev_id: number;
      state: string;
      queues: unknown[];
    }>;
    expect(json.map((d) => [d.dev_id, d.state, d.queues.length])).toEqual([[3, 'LIVE', 2]]);

    const features = JSON.parse(tsublk('features', '--json').stdout) as { names: string[] };
    expect(features.names).toContain('USER_COPY');
    expect(tsublk('features').stdout).toMatch(/USER_COPY\s+6\.5\s+yes\s+used\n/);
  });

  it("places queue threads on the kernel's CPUs for each queue with --placement submitters, and refuses an unknown placement", () => {
    expect(tsublk('add', '-t', 'null', '-n', '7', '--placement', 'submitters').status).toBe(0);
    const lines = tsublk('list', '-n', '7').stdout.split('\n');
    for (const q of [0, 1]) expect(listedAffinity(lines[4 + q] ?? '')).toEqual(submitterCpus(7, q));
    const bad = tsublk('add', '-t', 'null', '-n', '8', '--placement', 'far');
    expect(bad.status).not.toBe(0);
    expect(bad.stderr.trim()).toBe('tsublk: bad --placement far: use beside, submitters, pin, auto');
  });

  it('busy-polls at queue depth 1 beside its submitter, and costs no CPU once idle', async () => {
    expect(tsublk('add', '-t', 'null', '-n', '6').status).toBe(0);
    ok(
      'fio',
      '--name=qd1',
      '--filename=/dev/ublkb6',
      '--rw=randread',
      '--direct=1',
      '--ioengine=io_uring',
      '--iodepth=1',
      '--bs=4k',
      '--time_based',
      '--runtime=2',
    );
    const stats = JSON.parse(tsublk('stats', '-n', '6', '--json').stdout) as {
      queues: Array<{ spins: number; spin_hits: number }>;
    };
    const spins = stats.queues.reduce((sum, queue) => sum + queue.spins, 0);
    const hits = stats.queues.reduce((sum, queue) => sum + queue.spin_hits, 0);
    expect(spins).toBeGreaterThan(0);
    // Beside its submitter (another CPU), a spin catches the next request.
    if (availableParallelism() > 1) expect(hits).toBeGreaterThan(spins / 2);
    const device = listedDevice<{ daemon_pid: number; queues: Array<{ tid: number }> }>(6);
    const threads = (device?.queues ?? []).map((queue) => `/proc/${device?.daemon_pid}/task/${queue.tid}/stat`);
    expect(threads).toHaveLength(2);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const before = threads.map(cpuTicks);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    // Idle, the queue threads sleep in io_uring_enter: at most 1 tick (10 ms) each in 3 s.
    expect(threads.map((stat, q) => cpuTicks(stat) - (before[q] ?? 0))).toEqual([
      expect.toBeOneOf([0, 1]),
      expect.toBeOneOf([0, 1]),
    ]);
  });

  it('deletes every device with del -a, leaving no daemon or run file', async () => {
    // The two adds side by side: the guest's two CPUs share their starts.
    const added = await Promise.all(['4', '5'].map((id) => tsublkAsync('add', '-t', 'null', '-n', id)));
    expect(added.map((result) => result.status)).toEqual([0, 0]);
    expect(leftovers().devices.sort()).toEqual(['ublkb4', 'ublkb5', 'ublkc4', 'ublkc5']);
    expect(tsublk('del', '-a').status).toBe(0);
  });
});

/** This kernel's release and ublk features (the suite runs on 6.12 and on sid's newest). */
const kernel = kernelFeatures();

/** Flags add asks for by option, with the option and the release that brought each: oldest first. */
const optionFeatures: Array<[string, string[], string]> = [
  ['USER_RECOVERY_FAIL_IO', ['-e', '1'], '6.13'],
  ['NO_AUTO_PART_SCAN', ['--no_auto_part_scan'], '7.0'],
  ['BATCH_IO', ['-b'], '7.0'],
];

/** The refusal of the oldest add flag this kernel lacks; none where it has them all (then the test below says so). */
function lackingFeatureCase(): Array<[string, string[], RegExp]> {
  const lacking = optionFeatures.find(([name]) => !kernel.names.includes(name));
  if (lacking === undefined) return [];
  const [name, args, since] = lacking;
  return [
    [
      `a feature ${kernel.kernel} lacks (${name})`,
      ['-t', 'null', ...args],
      new RegExp(`lacks UBLK_F_${name}, which Linux ${since.replace('.', '\\.')} brought`),
    ],
  ];
}

describe('tsublk add refuses bad input in one line, leaving nothing behind', () => {
  const cases: Array<[string, string[], RegExp]> = [
    ['an unknown target', ['-t', 'nope'], /unknown target 'nope': use null/],
    ['a size that is no size', ['-t', 'null', '--size', '12X'], /bad size '12X'/],
    ['a size not a multiple of the block size', ['-t', 'null', '--size', '1000'], /multiple of the block size/],
    ['a zero size', ['-t', 'null', '--size', '0'], /positive multiple/],
    ['a bad queue count', ['-t', 'null', '-q', '0'], /bad queue count 0/],
    ['a bad depth', ['-t', 'null', '-d', '5000'], /bad queue depth 5000/],
    ['a bad block size', ['-t', 'null', '--bs', '1000'], /bad block size 1000: use --bs 512, 1024, 2048 or 4096/],
    [
      'zero copy for a target that touches request buffers',
      ['-t', 'null', '-z'],
      /-z needs a target that moves request data only through QueueIo \(loop and nbd do\); the null target does not: leave -z out/,
    ],
    [
      'batch I/O with get-data',
      ['-t', 'null', '-b', '-g', '1'],
      /-b and -g 1 exclude each other: batch I\/O has no get-data round trip; leave -g 1 out/,
    ],
    ...lackingFeatureCase(),
  ];
  // None of them gets as far as a device: all run side by side first, then each is checked.
  const results = new Map<string, Run>();
  beforeAll(async () => {
    await Promise.all(cases.map(async ([what, args]) => results.set(what, await tsublkAsync('add', ...args))));
  });
  it.each(cases)('%s', (what, _args, message) => {
    const result = results.get(what) ?? { status: null, stdout: '', stderr: 'not run' };
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  // Where the kernel has every flag add asks for, there is nothing to refuse: they all reach it.
  if (lackingFeatureCase().length === 0)
    it(`a feature this kernel lacks: none on ${kernel.kernel}, so add asks for them all and gets them`, () => {
      const args = optionFeatures.flatMap(([, flagArgs]) => flagArgs);
      expect(tsublk('add', '-t', 'null', '-n', '9', ...args).status).toBe(0);
      const flags = tsublk('list', '-n', '9').stdout;
      for (const [name] of optionFeatures) expect(flags).toMatch(new RegExp(`\\b${name}\\b`));
    });

  it('an id in use', () => {
    expect(tsublk('add', '-t', 'null', '-n', '7').status).toBe(0);
    const again = tsublk('add', '-t', 'null', '-n', '7');
    expect(again.status).toBe(1);
    expect(again.stderr.trim()).toBe('tsublk: device id 7 is in use: pick another -n or leave it out');
    expect(leftovers().devices.sort()).toEqual(['ublkb7', 'ublkc7']);
  });

  it('a user who may not use /dev/ublk-control', () => {
    const result = run('setpriv', [
      '--reuid=65534',
      '--regid=65534',
      '--clear-groups',
      process.execPath,
      tsublkLocation(),
      'add',
      '-t',
      'null',
    ]);
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toMatch(
      /cannot open \/dev\/ublk-control \(EACCES\): run as root, or use --unprivileged/,
    );
  });
});

function tsublkLocation(): string {
  return new URL('../../bin/tsublk', import.meta.url).pathname;
}

/** The CPUs a queue line of `list` shows: "queue 0: tid N affinity(1 )". */
function listedAffinity(line: string): number[] {
  return (
    /affinity\(([\d ]*)\)/
      .exec(line)?.[1]
      ?.trim()
      .split(' ')
      .filter((cpu) => cpu !== '')
      .map(Number) ?? []
  );
}

/** utime + stime of a process or thread (its /proc stat file), in clock ticks (1/100 s). */
function cpuTicks(stat: string): number {
  const fields = readFileSync(stat, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return Number(fields[11]) + Number(fields[12]);
}

function existsTask(pid: number, tid: number): boolean {
  try {
    readFileSync(`/proc/${pid}/task/${tid}/stat`);
    return true;
  } catch {
    return false;
  }
}
