// `npm run bench:start [-- --runs N] [--phases] [--json] [--kernel K]`: how long tsublk takes to start, as
// ratios to a bare `node -e 0` measured in the same boot (median of N, 5 by default), and the
// user-level crash script's time from kill -9 to LIVE. Inside a guest it measures directly;
// anywhere else it boots the VM first. --phases adds one traced run of each command: every
// process and thread of tsublk marks its phases (src/start-trace.ts), printed relative to the
// moment the command was started.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type StartArguments, parseStartArguments, startUsage } from './start-arguments.js';

const tsublk = fileURLToPath(new URL('../../bin/tsublk', import.meta.url));
const DEV_ID = 0;

interface Timed {
  readonly ms: number;
  readonly stdout: string;
}

/** Runs a command to its end; its wall time. Throws when it fails (a start that fails measures nothing). */
function timed(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Timed {
  const started = process.hrtime.bigint();
  const result = spawnSync(command, args, { encoding: 'utf8', env, timeout: 60_000 });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0)
    throw new Error(`${command} ${args.join(' ')} exited ${result.status}: ${result.stderr.trim()}`);
  return { ms, stdout: result.stdout };
}

function listed(): { state: string; daemon_pid: number } | undefined {
  const result = spawnSync(tsublk, ['list', '-n', String(DEV_ID), '--json'], { encoding: 'utf8' });
  return result.status === 0
    ? (JSON.parse(result.stdout) as Array<{ state: string; daemon_pid: number }>)[0]
    : undefined;
}

/** Polls `tsublk list` (as the README's script does) until the device is in `state`. */
function waitForState(state: string, timeoutMs = 30_000): void {
  const deadline = Date.now() + timeoutMs;
  while (listed()?.state !== state) {
    if (Date.now() > deadline) throw new Error(`device ${DEV_ID} did not become ${state} within ${timeoutMs / 1000} s`);
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/** The pid of the daemon serving the device, from `tsublk list`. */
function daemonPid(): number {
  const pid = listed()?.daemon_pid;
  if (pid === undefined || pid <= 0) throw new Error(`device ${DEV_ID} has no daemon to kill`);
  return pid;
}

function killDaemon(): void {
  process.kill(daemonPid(), 'SIGKILL');
}

/**
 * The user-level crash script: kill -9, poll list until QUIESCED, recover, poll list until LIVE.
 * Timed from the kill, as a crash is: the list run that finds the pid to kill comes before it.
 */
function crashScript(): number {
  const pid = daemonPid();
  const started = process.hrtime.bigint();
  process.kill(pid, 'SIGKILL');
  waitForState('QUIESCED');
  timed(tsublk, ['recover', '-n', String(DEV_ID)]);
  waitForState('LIVE');
  return Number(process.hrtime.bigint() - started) / 1e6;
}

interface Row {
  readonly name: string;
  readonly ms: number;
  readonly ratio: number;
  /** The ceiling: a ratio to a bare start, or (crash script) seconds. */
  readonly limit: string;
  readonly ok: boolean;
}

function measure(runs: number): Row[] {
  const samples: Record<string, number[]> = { bare: [], help: [], list: [], add: [], del: [], recover: [], crash: [] };
  const add = ['add', '-t', 'null', '-n', String(DEV_ID), '-r', '1'];
  spawnSync(tsublk, ['del', '-a']);
  // Run -1 warms up, unmeasured: the guest's page cache and the bundles' code cache
  // (cli/code-cache.ts) are filled once, as on any machine after tsublk's first start.
  for (let run = -1; run < runs; run++) {
    if (run === 0) for (const values of Object.values(samples)) values.length = 0;
    samples['bare']?.push(timed(process.execPath, ['-e', '0']).ms);
    samples['help']?.push(timed(tsublk, ['--help']).ms);
    samples['add']?.push(timed(tsublk, add).ms);
    samples['list']?.push(timed(tsublk, ['list']).ms);
    killDaemon();
    waitForState('QUIESCED');
    samples['recover']?.push(timed(tsublk, ['recover', '-n', String(DEV_ID)]).ms);
    samples['crash']?.push(crashScript());
    samples['del']?.push(timed(tsublk, ['del', '-n', String(DEV_ID)]).ms);
  }
  const bare = median(samples['bare'] ?? []);
  const row = (name: string, key: string, limit: number | null, seconds: number | null = null): Row => {
    const ms = median(samples[key] ?? []);
    const ratio = Math.round((ms / bare) * 100) / 100;
    if (seconds !== null)
      return { name, ms: Math.round(ms), ratio, limit: `<= ${seconds} s`, ok: ms <= seconds * 1000 };
    return {
      name,
      ms: Math.round(ms),
      ratio,
      limit: limit === null ? '' : `<= ${limit}x`,
      ok: limit === null || ratio <= limit,
    };
  };
  return [
    row('node -e 0 (bare start)', 'bare', null),
    row('tsublk --help', 'help', 1.3),
    row('tsublk list (one device)', 'list', 1.5),
    row('tsublk add -t null to LIVE', 'add', 3),
    row('tsublk recover to LIVE', 'recover', 3),
    row('tsublk del', 'del', null),
    row('crash script: kill -9 to LIVE', 'crash', null, 3),
  ];
}

/** One traced run of each command; each process's and thread's phases, ms after the command began. */
function phases(): void {
  const dir = mkdtempSync(path.join(tmpdir(), 'tsublk-start-'));
  const trace = path.join(dir, 'trace');
  const env = { ...process.env, TSUBLK_START_TRACE: trace };
  const show = (title: string, args: readonly string[]): void => {
    rmSync(trace, { force: true });
    const began = Date.now();
    const { ms } = timed(tsublk, args, env);
    console.log(`\n${title}: ${Math.round(ms)} ms`);
    let lines: string[] = [];
    try {
      lines = readFileSync(trace, 'utf8').trim().split('\n');
    } catch {
      // A command that marks nothing (none of its phases ran).
    }
    for (const line of lines) {
      const [pid, thread, wallMs, sinceStart, ...phase] = line.split(' ');
      console.log(
        `  ${String(Math.round(Number(wallMs) - began)).padStart(6)} ms  pid ${pid} thread ${thread}: ${phase.join(' ')} (${Math.round(Number(sinceStart))} ms into it)`,
      );
    }
  };
  spawnSync(tsublk, ['del', '-a']);
  show('tsublk --help', ['--help']);
  show('tsublk add -t null -r 1', ['add', '-t', 'null', '-n', String(DEV_ID), '-r', '1']);
  show('tsublk list', ['list']);
  killDaemon();
  waitForState('QUIESCED');
  show('tsublk recover', ['recover', '-n', String(DEV_ID)]);
  show('tsublk del', ['del', '-n', String(DEV_ID)]);
  rmSync(dir, { recursive: true, force: true });
}

function main({ runs, json, phases: traced }: StartArguments): void {
  const kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  const rows = measure(runs);
  if (json) process.stdout.write(JSON.stringify({ kernel, runs, rows }) + '\n');
  else {
    console.log(
      `start-up, median of ${runs} after a warm-up round, Linux ${kernel}; ratios to a bare node -e 0 in the same boot`,
    );
    console.log('what                              ms    ratio  limit     ');
    for (const r of rows)
      console.log(
        `${r.name.padEnd(31)} ${String(r.ms).padStart(6)}  ${r.ratio.toFixed(2).padStart(6)}  ${r.limit.padEnd(8)}  ${r.limit === '' ? '' : r.ok ? 'ok' : 'OVER'}`,
      );
  }
  if (traced) phases();
  process.exitCode = rows.every((r) => r.ok) ? 0 : 1;
}

const parsed = parseStartArguments(process.argv.slice(2));
if ('help' in parsed) process.stdout.write(startUsage);
else if ('error' in parsed) {
  process.stderr.write(`bench:start: ${parsed.error}\n`);
  process.exitCode = 2;
} else if (process.env['TSUBLK_IN_VM'] === '1') {
  main(parsed);
} else {
  const vm = fileURLToPath(new URL('../vm/cli.js', import.meta.url));
  const self = fileURLToPath(import.meta.url);
  const kernel = parsed.kernel === null ? [] : ['--kernel', parsed.kernel];
  const guestArgs = [
    '--runs',
    String(parsed.runs),
    ...(parsed.phases ? ['--phases'] : []),
    ...(parsed.json ? ['--json'] : []),
  ];
  const result = spawnSync(process.execPath, [vm, ...kernel, '--', process.execPath, self, ...guestArgs], {
    stdio: 'inherit',
  });
  process.exitCode = result.status ?? 1;
}
