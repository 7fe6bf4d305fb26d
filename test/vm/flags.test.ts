import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { listenForNotify } from '../support/notify-listener.js';
import { pollUntil } from '../support/poll.js';
import { type DeviceIds, cleanUp, leftovers, nothingLeft, ok, tsublk, tsublkAsync, tsublkBin } from './cli.js';

const ids: DeviceIds = { first: 70, last: 79 };

afterEach(() => {
  cleanUp(ids);
  expect(leftovers(ids)).toEqual(nothingLeft);
});

/**
 * Random reads and writes of 4k and 64k on every device at once, for 500 ms (two jobs each, so
 * that both CPUs submit): each device's fio error, keyed by device. Reads and writes of both
 * sizes, on every path: enough to fail.
 */
function fioErrors(devices: readonly string[]): Record<string, number> {
  const output = ok(
    'fio',
    // Global options first: fio gives an option after --name to that job alone.
    '--rw=randrw',
    '--bs=4k,64k',
    '--direct=1',
    '--ioengine=io_uring',
    '--iodepth=16',
    '--numjobs=2',
    '--time_based',
    '--runtime=500ms',
    '--output-format=json',
    ...devices.flatMap((device) => [`--name=${device}`, `--filename=${device}`]),
  );
  const report = JSON.parse(output.slice(output.indexOf('{'))) as {
    jobs: Array<{ jobname: string; error: number; read: { total_ios: number }; write: { total_ios: number } }>;
  };
  const errors: Record<string, number> = {};
  for (const job of report.jobs) {
    if (job.read.total_ios === 0 || job.write.total_ios === 0) throw new Error(`fio did no I/O on ${job.jobname}`);
    errors[job.jobname] = (errors[job.jobname] ?? 0) + job.error;
  }
  expect(report.jobs).toHaveLength(2 * devices.length);
  return errors;
}

/**
 * Adds a null device per case (`-n` 70, 71, …), side by side: the guest's two CPUs share their
 * starts. Each case's flags line must name its kernel feature or not (`named`); then fio drives
 * them all at once, and none may see an error.
 */
async function flagsReachTheKernelAndServe(cases: ReadonlyArray<[string[], string, boolean]>): Promise<void> {
  const added = await Promise.all(
    cases.map(([flags], at) =>
      tsublkAsync('add', '-t', 'null', '-n', String(ids.first + at), '--size', '1G', ...flags),
    ),
  );
  const devices = cases.map((_, at) => `/dev/ublkb${ids.first + at}`);
  cases.forEach(([flags, feature, named], at) => {
    const add = added[at];
    expect(add?.status, `add ${flags.join(' ')}: ${add?.stderr}`).toBe(0);
    const flagsLine = add?.stdout.split('\n')[2] ?? '';
    expect(flagsLine.split(/[[\] ]+/).includes(feature), `${flags.join(' ')}: ${flagsLine}`).toBe(named);
  });
  expect(fioErrors(devices)).toEqual(Object.fromEntries(devices.map((device) => [device, 0])));
}

describe('the kernel flags reach the kernel, and their data paths serve I/O', () => {
  it('-g 1 (NEED_GET_DATA: writes take the get-data round trip), -u 1 (URING_CMD_COMP_IN_TASK), -r 1 (USER_RECOVERY), -i 1 (USER_RECOVERY_REISSUE)', async () => {
    await flagsReachTheKernelAndServe([
      [['-g', '1'], 'NEED_GET_DATA', true],
      [['-u', '1'], 'URING_CMD_COMP_IN_TASK', true],
      [['-r', '1'], 'USER_RECOVERY', true],
      [['-i', '1'], 'USER_RECOVERY_REISSUE', true],
    ]);
  });
});

// --usercopy by name: test/vm/memory-target.test.ts runs each data path under fio verify.
describe('the data path', () => {
  it('user copy by default, where the kernel offers it; per-tag buffers with --copy', async () => {
    await flagsReachTheKernelAndServe([
      [[], 'USER_COPY', true],
      [['--copy'], 'USER_COPY', false],
    ]);
  });
});

describe('add --foreground', () => {
  it('serves in the calling process until SIGTERM, telling $NOTIFY_SOCKET READY=1 once LIVE and STOPPING=1 and logging to stderr, then stops, deletes and exits 0', async () => {
    // As systemd runs tsublk@.service (Type=notify): a datagram socket in its place.
    const notifySocket = `@tsublk-vm-notify-${process.pid}`;
    const manager = listenForNotify(notifySocket);
    const child = spawn(tsublkBin, ['add', '-t', 'null', '-n', '72', '--size', '1G', '--foreground'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NOTIFY_SOCKET: notifySocket },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await pollUntil(() => stdout.includes('target '), 60_000, 100);
    expect(stdout).toMatch(/^dev id 72: /);
    expect(existsSync('/dev/ublkb72')).toBe(true);
    expect(stdout).toContain(`daemon pid ${child.pid} state LIVE`);
    // The daemon prints the device, then tells the manager: the datagram may come a moment later
    // (the sid CI run at aca3d4d read the socket before it came).
    expect(await manager.arrival(10_000)).toBe(
      `READY=1\nMAINPID=${child.pid}\nSTATUS=serving /dev/ublkb72 (target null)`,
    );
    ok('dd', 'if=/dev/ublkb72', 'of=/dev/null', 'bs=4k', 'count=100', 'iflag=direct');
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(existsSync('/dev/ublkb72')).toBe(false);
    expect(manager.next()).toBe('STOPPING=1\nSTATUS=SIGTERM: stopping');
    manager.close();
    // Its log goes to stderr too (a supervisor's journal): the start and the stop.
    expect(stderr).toMatch(/^tsublk: device 72: info LIVE: target null, /m);
    expect(stderr).toMatch(/^tsublk: device 72: info SIGTERM: stopping$/m);
  });
});

describe('del', () => {
  it('--async returns at once and the device still goes away', async () => {
    expect(tsublk('add', '-t', 'null', '-n', '73', '--size', '1G').status).toBe(0);
    expect(tsublk('del', '-n', '73', '--async').status).toBe(0);
    await pollUntil(() => !existsSync('/dev/ublkb73') && leftovers(ids).daemons.length === 0, 30_000, 100);
    expect(existsSync('/dev/ublkb73')).toBe(false);
  });

  it('deletes a device whose daemon was killed with SIGKILL', async () => {
    const add = tsublk('add', '-t', 'null', '-n', '74', '--size', '1G');
    expect(add.status).toBe(0);
    const pid = Number(/daemon pid (\d+)/.exec(add.stdout)?.[1]);
    // leftovers(ids) sees this worker's daemons (by their environment), so the wait below is not vacuous.
    expect(leftovers(ids).daemons.map((line) => Number(line.split(' ')[0]))).toEqual([pid]);
    process.kill(pid, 'SIGKILL');
    await pollUntil(() => leftovers(ids).daemons.length === 0, 5_000);
    const del = tsublk('del', '-n', '74');
    expect(del.status, del.stderr).toBe(0);
    expect(existsSync('/dev/ublkb74')).toBe(false);
  });

  it('says so in one line for a device that does not exist', () => {
    const del = tsublk('del', '-n', '79');
    expect(del.status).toBe(1);
    expect(del.stderr).toBe('tsublk: no ublk device 79: see tsublk list\n');
  });
});
