// Helpers for the in-VM tests: run the real CLI, as a user would, and look at what it left.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { parseCpuList } from '../../src/cli/thread-cpus.js';
import { daemonPid, waitForState } from './kernel-state.js';
import { pollUntil } from '../support/poll.js';

export const tsublkBin = fileURLToPath(new URL('../../bin/tsublk', import.meta.url));

/** The CPUs that submit to queue `q` of /dev/ublkb<devId> (blk-mq's map, in sysfs). */
export function submitterCpus(devId: number, q: number): number[] {
  return parseCpuList(readFileSync(`/sys/block/ublkb${devId}/mq/${q}/cpu_list`, 'utf8'));
}

export interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function run(
  command: string,
  args: readonly string[],
  options: { timeoutMs?: number; env?: Record<string, string>; cwd?: string; input?: string } = {},
): Run {
  // fio leaves verify state files in its working directory: not in the project's.
  const cwd = options.cwd ?? (command === 'fio' ? tmpdir() : undefined);
  const result = spawnSync(command, args, {
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 120_000,
    env: { ...process.env, ...options.env },
    cwd,
    ...(options.input === undefined ? {} : { input: options.input }),
  });
  // A command that could not start (or was killed by the timeout) has no output: its error says why.
  return { status: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? String(result.error) };
}

export function tsublk(...args: string[]): Run {
  return run(tsublkBin, args);
}

/**
 * Adds null devices (`[devId, ...add options]` each) side by side, for a file whose tests each
 * serve one of them: the guest's two CPUs share their starts. Each add must succeed.
 */
export async function addNullDevices(devices: ReadonlyArray<readonly [number, ...string[]]>): Promise<void> {
  const added = await Promise.all(
    devices.map(([devId, ...options]) => tsublkAsync('add', '-t', 'null', '-n', String(devId), ...options)),
  );
  added.forEach((result, at) => expect(result.status, `add ${devices[at]?.join(' ')}: ${result.stderr}`).toBe(0));
}

/** run without blocking, so that independent runs (refusals, fio on several devices) share the VM's CPUs. */
export function runAsync(command: string, args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    // fio leaves verify state files in its working directory: not in the project's.
    const cwd = command === 'fio' ? tmpdir() : undefined;
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd, timeout: 120_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error) => resolve({ status: null, stdout, stderr: String(error) }));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** The CLI run without blocking, so that independent runs (refusals) share the VM's CPUs. */
export function tsublkAsync(...args: string[]): Promise<Run> {
  return runAsync(tsublkBin, args);
}

/** What `tsublk features --json` says of this guest's kernel. */
export interface KernelFeatures {
  readonly kernel: string;
  readonly names: string[];
  readonly unknownBits: number[];
  readonly rows: Array<{ name: string; since: string; supported: boolean; used: boolean }>;
}

let features: KernelFeatures | undefined;

/**
 * This kernel's ublk features (`tsublk features --json`), asked once for the whole suite: the
 * files share one module graph (vitest.config.ts, isolate: false), and several pick their tests'
 * branches from it as they load.
 */
export function kernelFeatures(): KernelFeatures {
  if (features === undefined) {
    const result = tsublk('features', '--json');
    if (result.status !== 0) throw new Error(`tsublk features --json exited ${result.status}: ${result.stderr.trim()}`);
    features = JSON.parse(result.stdout) as KernelFeatures;
  }
  return features;
}

/** The device's `list --json` entry (`flags` such as -v added), or undefined when list fails (no such device). */
export function listedDevice<T>(devId: number, ...flags: string[]): T | undefined {
  const result = tsublk('list', '-n', String(devId), '--json', ...flags);
  return result.status === 0 ? (JSON.parse(result.stdout) as T[])[0] : undefined;
}

/** Runs a command that must succeed; its stdout. */
export function ok(command: string, ...args: string[]): string {
  const result = run(command, args);
  if (result.status !== 0)
    throw new Error(`${command} ${args.join(' ')} exited ${result.status}: ${result.stderr.trim()}`);
  return result.stdout;
}

/** ok without blocking, for commands that run side by side (fio on several devices); its stdout. */
export async function okAsync(command: string, ...args: string[]): Promise<string> {
  const result = await runAsync(command, args);
  if (result.status !== 0)
    throw new Error(`${command} ${args.join(' ')} exited ${result.status}: ${result.stderr.trim()}`);
  return result.stdout;
}

/**
 * Every process as `PID ARGS` (ps -eo pid,args, without a zombie's [name]), read from /proc:
 * the suite asks before and after each test, and a ps run costs ~150 ms of a TCG guest.
 */
export function processes(): string[] {
  const lines: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
    } catch {
      continue; // gone since the directory was read
    }
    // NUL-separated arguments, NUL-ended; empty for a zombie or a kernel thread.
    if (cmdline !== '') lines.push(`${entry} ${cmdline.replace(/\0$/, '').split('\0').join(' ')}`);
  }
  return lines;
}

/**
 * The device ids a test file serves, first to last. The files of the vm project run two at a time
 * in one guest (vitest.config.ts), each in ids no other file of it uses; such a file cleans up
 * and looks for leftovers among its own ids, and among the daemons its own vitest worker started
 * (one file at a time runs in a worker).
 */
export interface DeviceIds {
  readonly first: number;
  readonly last: number;
}

/** Nothing of tsublk: what leftovers() must find after a test. */
export const nothingLeft = { devices: [], daemons: [], runFiles: [] };

/** Whether the digits in `name` (ublkb12, 12.json) are an id in `ids` (every id without `ids`). */
export function owns(ids: DeviceIds | undefined, name: string): boolean {
  const id = Number(/\d+/.exec(name)?.[0]);
  return ids === undefined || (id >= ids.first && id <= ids.last);
}

/** Whether process `pid` was started by this vitest worker: it inherited the worker's VITEST_POOL_ID. */
function startedHere(pid: string): boolean {
  try {
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    return environ.includes(`VITEST_POOL_ID=${process.env['VITEST_POOL_ID'] ?? ''}`);
  } catch {
    return false; // gone since it was listed
  }
}

/** What ublk devices, daemons and run files exist right now: all of them, or those of `ids`. */
export function leftovers(ids?: DeviceIds): { devices: string[]; daemons: string[]; runFiles: string[] } {
  const devices = readdirSync('/dev').filter((name) => /^ublk[bc]\d+$/.test(name) && owns(ids, name));
  // The daemon runs dist/bundle/cli/daemon-main.js serve …
  const daemons = processes().filter(
    (line) => line.includes('daemon-main.js serve') && (ids === undefined || startedHere(line.split(' ')[0] ?? '')),
  );
  const runFiles = existsSync('/run/tsublk') ? readdirSync('/run/tsublk').filter((name) => owns(ids, name)) : [];
  return { devices, daemons, runFiles };
}

/**
 * Test cleanup, a CLI run only if anything is left: del -a, which waits for the daemons to be
 * gone; or, given `ids`, del -n of each of those devices, then SIGKILL to any daemon this worker
 * started that is still there (one that never made its device).
 */
export function cleanUp(ids?: DeviceIds): void {
  const left = leftovers(ids);
  if (left.devices.length === 0 && left.daemons.length === 0 && left.runFiles.length === 0) return;
  if (ids === undefined) {
    tsublk('del', '-a');
    return;
  }
  const owned = new Set([...left.devices, ...left.runFiles].map((name) => Number(/\d+/.exec(name)?.[0])));
  for (const id of owned) tsublk('del', '-n', String(id));
  for (const line of leftovers(ids).daemons) process.kill(Number(line.split(' ')[0]), 'SIGKILL');
}

/** What a background fio write+verify run ended with: its exit status and its one job's totals. */
export interface FioVerified {
  readonly status: number | null;
  readonly job: { error: number; write: { io_bytes: number }; read: { io_bytes: number } } | undefined;
}

/**
 * Starts fio writing `device` at random in 4 KiB blocks with crc32c verify of every block it
 * wrote, in the background (for tests that act on the device meanwhile); `options` are fio's
 * own (size, io_size, iodepth, rate_iops…) without the leading dashes.
 */
export function fioWriteVerify(
  device: string,
  options: Readonly<Record<string, string | number>>,
): Promise<FioVerified> {
  const extra = Object.entries(options).map(([name, value]) => `--${name}=${value}`);
  const fio = spawn(
    'fio',
    [
      '--name=verify',
      `--filename=${device}`,
      '--ioengine=io_uring',
      '--direct=1',
      '--rw=randwrite',
      '--bs=4k',
      ...extra,
      '--verify=crc32c',
      '--do_verify=1',
      '--verify_fatal=1',
      '--output-format=json',
    ],
    { cwd: tmpdir() }, // fio's verify state files go there
  );
  let output = '';
  fio.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) =>
    fio.once('exit', (status) => {
      const start = output.indexOf('{');
      const job = start < 0 ? undefined : (JSON.parse(output.slice(start)) as { jobs: FioVerified['job'][] }).jobs[0];
      resolve({ status, job });
    }),
  );
}

/**
 * Writes 4 MiB of random data at 8 MiB into device `devId`, kills its daemon (-9), waits for
 * QUIESCED, recovers it, and reads the range back: every acknowledged byte must be there.
 */
export async function expectKillAndRecoverKeepsWrites(devId: number): Promise<void> {
  const pattern = randomBytes(4 * 2 ** 20);
  const patternFile = `/tmp/tsublk-pattern-${devId}`;
  const rangeFile = `/tmp/tsublk-range-${devId}`;
  writeFileSync(patternFile, pattern);
  ok('dd', `if=${patternFile}`, `of=/dev/ublkb${devId}`, 'bs=1M', 'seek=8', 'oflag=direct', 'status=none');
  process.kill(daemonPid(devId), 'SIGKILL');
  await waitForState(devId, 'QUIESCED', 5000);
  const recovered = tsublk('recover', '-n', String(devId));
  expect(recovered.stderr).toBe('');
  expect(recovered.stdout).toMatch(/state LIVE/);
  ok('dd', `if=/dev/ublkb${devId}`, `of=${rangeFile}`, 'bs=1M', 'skip=8', 'count=4', 'iflag=direct', 'status=none');
  expect(readFileSync(rangeFile).equals(pattern)).toBe(true);
  rmSync(rangeFile);
  rmSync(patternFile);
}

/**
 * btrfs on zoned device `devId`, which writes its data with zone appends: 24 MiB of random data
 * in a file, unmounted and mounted again, must read back, and the device's queues must have
 * counted zone appends (tsublk stats).
 */
export function expectBtrfsZoneAppendsReadBack(devId: number): void {
  const device = `/dev/ublkb${devId}`;
  ok('mkfs.btrfs', '-q', '-f', '-O', 'zoned', '-d', 'single', '-m', 'single', device);
  const mountPoint = mkdtempSync(path.join(tmpdir(), 'tsublk-zoned-'));
  const copy = path.join(mountPoint, '..', `${path.basename(mountPoint)}.data`);
  try {
    ok('mount', device, mountPoint);
    ok('dd', 'if=/dev/urandom', `of=${mountPoint}/data`, 'bs=1M', 'count=24', 'status=none');
    ok('cp', `${mountPoint}/data`, copy);
    ok('umount', mountPoint);
    const stats = JSON.parse(tsublk('stats', '-n', String(devId), '--json').stdout) as {
      queues: Array<Record<string, number>>;
    };
    expect(stats.queues.reduce((sum, queue) => sum + (queue['zone_appends'] ?? 0), 0)).toBeGreaterThan(0);
    ok('mount', device, mountPoint);
    expect(run('cmp', [`${mountPoint}/data`, copy]).status).toBe(0);
    ok('umount', mountPoint);
  } finally {
    run('umount', [mountPoint]);
    rmSync(mountPoint, { recursive: true, force: true });
    rmSync(copy, { force: true });
  }
}

/** Starts fio reading `device` at random (4k, QD16) for `seconds`; resolves with its exit status. */
export function randomReads(device: string, seconds: number): Promise<number | null> {
  const fio = spawn('fio', [
    '--name=read',
    `--filename=${device}`,
    '--ioengine=io_uring',
    '--direct=1',
    '--rw=randread',
    '--bs=4k',
    '--iodepth=16',
    '--time_based',
    `--runtime=${seconds}`,
  ]);
  return new Promise((resolve) => fio.once('exit', resolve));
}

/** Starts a server in the foreground (added to `started`, for the caller to kill); resolves once `ready()` says it listens. */
export async function startListening(
  command: string,
  args: string[],
  ready: () => boolean,
  started: ChildProcess[],
): Promise<ChildProcess> {
  const server = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  started.push(server);
  let stderr = '';
  server.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let up = false;
  await pollUntil(() => (up = ready()) || server.exitCode !== null, 20_000);
  if (!up) throw new Error(`${command} did not start: ${stderr}`);
  return server;
}

/** Whether something listens on TCP `port` (ss). */
export function listening(port: number): boolean {
  return run('ss', ['-Hltn', `sport = :${port}`]).stdout.trim() !== '';
}
