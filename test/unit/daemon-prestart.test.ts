import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { earlyWorkerArgs } from '../../src/cli/daemon-prestart.js';

// bin/tsublk starts add's daemon before it loads the CLI (src/cli/daemon-prestart.ts). These run
// the real bin and read the start trace (src/start-trace.ts) for which processes took part.
const bin = fileURLToPath(new URL('../../bin/tsublk', import.meta.url));
const daemonMain = fileURLToPath(new URL('../../dist/bundle/cli/daemon-main.js', import.meta.url));
const folder = mkdtempSync(path.join(tmpdir(), 'tsublk-prestart-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

interface Traced {
  readonly status: number | null;
  readonly stderr: string;
  /** The trace's lines: pid and phase. */
  readonly marks: ReadonlyArray<{ pid: number; phase: string }>;
}

function traced(name: string, ...args: string[]): Traced {
  const trace = path.join(folder, `${name}.trace`);
  const result = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    env: { ...process.env, TSUBLK_START_TRACE: trace },
    timeout: 30_000,
  });
  const lines = existsSync(trace) ? readFileSync(trace, 'utf8').trim().split('\n') : [];
  const marks = lines.map((line) => {
    const [pid, , , , ...phase] = line.split(' ');
    return { pid: Number(pid), phase: phase.join(' ') };
  });
  return { status: result.status, stderr: result.stderr, marks };
}

/** The pid bin/tsublk said it started a daemon as, or undefined. */
function earlyDaemon(run: Traced): number | undefined {
  const mark = run.marks.find(({ phase }) => phase.startsWith('cli: daemon started early'));
  return mark === undefined ? undefined : Number(/pid (\d+)/.exec(mark.phase)?.[1]);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('the daemon add starts as the CLI starts', () => {
  it('is killed and gone when the CLI refuses the command, which prints its one line', () => {
    const run = traced('refused', 'add', '-t', 'null', '--size', '0');
    expect(run.status).toBe(1);
    expect(run.stderr).toBe('tsublk: bad size 0: it must be a positive multiple of the block size (512)\n');
    const pid = earlyDaemon(run);
    expect(pid).toBeGreaterThan(0);
    expect(alive(pid ?? 0)).toBe(false);
  });

  it.runIf(!existsSync('/dev/ublk-control'))(
    'is the daemon that serves the add: it reads its arguments from the CLI and reports (here: no ublk on this host)',
    () => {
      const run = traced('served', 'add', '-t', 'null');
      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(/^tsublk: \/dev\/ublk-control does not exist: .*\n$/);
      const pid = earlyDaemon(run);
      expect(run.marks.filter(({ phase }) => phase === 'daemon: arguments read').map((mark) => mark.pid)).toEqual([
        pid,
      ]);
      expect(alive(pid ?? 0)).toBe(false);
    },
  );

  it('is not started for help, --foreground or a command that needs no daemon', () => {
    for (const args of [
      ['add', '--help'],
      ['list', '--help'],
      ['add', '--foreground', '-t', 'null', '--size', '0'],
    ]) {
      const run = traced(args.join('-'), ...args);
      expect(earlyDaemon(run), args.join(' ')).toBeUndefined();
    }
  });

  it('exits, quietly, when the CLI ends without sending it arguments, ending the workers it started early', () => {
    for (const early of [[], ['--queues', '2']]) {
      const result = spawnSync(process.execPath, [daemonMain, 'serve', ...early], {
        input: '',
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(result.status, early.join(' ')).toBe(0);
      expect(result.stderr).toBe('');
    }
  });

  it('is told how many queue workers to start before its arguments come', () => {
    expect(earlyWorkerArgs(['add', '-t', 'null'])).toEqual(['--queues', '1']);
    expect(earlyWorkerArgs(['add', '-t', 'null', '-q', '4'])).toEqual(['--queues', '4']);
    expect(earlyWorkerArgs(['add', '--queues=3', '-t', 'null', '-q=1'])).toEqual(['--queues', '1']);
    expect(earlyWorkerArgs(['add', '-q', 'many'])).toEqual([]);
    // A worker per thread: --nthreads, when given, over -q (--per_io_tasks shares a queue's tags).
    expect(earlyWorkerArgs(['add', '-q', '2', '--nthreads', '4', '--per_io_tasks'])).toEqual(['--queues', '4']);
    expect(earlyWorkerArgs(['recover', '-n', '5'])).toEqual(['--device', '5']);
    expect(earlyWorkerArgs(['restart', '--number=6'])).toEqual(['--device', '6']);
    expect(earlyWorkerArgs(['recover'])).toEqual([]);
  });
});
