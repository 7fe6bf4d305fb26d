// `add`, `recover` and `restart` start their daemon the moment the CLI starts (bin/tsublk calls
// prestartDaemon before it loads the CLI's bundle), so that the daemon's Node start runs beside
// the CLI's own modules and planning instead of after them: in the TCG guest each takes about
// 0.45 s. The daemon waits on its stdin for what to serve (daemon-args.ts). A command that ends
// without it (a bad option, --foreground, a busy device) kills it and waits for its exit, so
// nothing is left behind; so does the CLI's exit, whatever path it takes.
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { markStart } from '../start-trace.js';
import { codeCacheInstaller, codeCacheInstallerIn } from './code-cache.js';

/** The daemon's entry point (daemon-main.ts): no CLI parser to load. */
const daemonPath = fileURLToPath(new URL('./daemon-main.js', import.meta.url));
/** The commands that start a daemon. */
const STARTING_COMMANDS: ReadonlySet<string> = new Set(['add', 'recover', 'restart']);
/** Words after which no daemon is started: help, or serving in the CLI's own process. */
const NO_DAEMON_WORDS: ReadonlySet<string> = new Set(['--foreground', '--help', '-h']);
/** Where the started daemon waits: bin/tsublk and each command bundle load their own copy of this module. */
const KEY = Symbol.for('tsublk.prestartedDaemon');

type Slot = { [KEY]?: ChildProcess | null };
const slot = globalThis as Slot;

/** The value of option -SHORT (null: none) / --LONG among `words` (the last one given), or undefined. */
function optionValue(words: readonly string[], short: string | null, long: string): string | undefined {
  const names = short === null ? [`--${long}`] : [`-${short}`, `--${long}`];
  let value: string | undefined;
  words.forEach((word, at) => {
    if (names.includes(word)) value = words[at + 1];
    else if (names.some((name) => word.startsWith(`${name}=`))) value = word.slice(word.indexOf('=') + 1);
  });
  return value;
}

/**
 * What the daemon is told before its arguments, so that it starts its queue workers (the longest
 * step) at once: add's queue count (-q, else one), or the device recover and restart take over
 * (-n), whose run file names its queues. A guess: a worker too many is ended unused, one too few
 * starts once the plan is known. (add -t null in the TCG guest, 7 each: median 1,979 ms with one
 * early worker and the second after the plan, 2,014 ms with both early: the CPUs are busy
 * either way, so no spare worker is started for a target that picks fewer queues.)
 */
export function earlyWorkerArgs(words: readonly string[]): string[] {
  if (words[0] === 'add') {
    // Without -q the target may choose (nbd: 1): one worker, which every device needs. A worker
    // serves a queue, or a share of one (--nthreads with --per_io_tasks).
    const threads = Number(optionValue(words, null, 'nthreads') ?? optionValue(words, 'q', 'queues') ?? 1);
    return Number.isInteger(threads) && threads > 0 && threads <= 64 ? ['--queues', String(threads)] : [];
  }
  const device = optionValue(words, 'n', 'number');
  return device !== undefined && /^\d+$/.test(device) ? ['--device', device] : [];
}

/**
 * Starts a detached daemon (`daemon-main.js serve [EARLY]`) that reads its arguments from stdin
 * and reports once on fd 3; `early`: earlyWorkerArgs. It compiles its bundle through the code
 * cache where this process does (`installer`: the code cache's installer, or null).
 */
export function spawnDaemon(early: readonly string[] = [], installer = codeCacheInstaller()): ChildProcess {
  const preload = installer === null ? [] : ['--require', installer];
  const child = spawn(process.execPath, [...preload, daemonPath, 'serve', ...early], {
    detached: true, // its own session: it outlives this command and the terminal
    stdio: ['pipe', 'ignore', 'ignore', 'pipe'],
    cwd: '/',
  });
  // A daemon that died before reading its arguments: its exit (fd 3 closing) says so, not EPIPE.
  child.stdin?.on('error', () => undefined);
  return child;
}

/** bin/tsublk: starts the daemon now when `argv` names a command that will want one. */
export function prestartDaemon(argv: readonly string[]): void {
  const words = argv.slice(2);
  if (!STARTING_COMMANDS.has(words[0] ?? '') || words.some((word) => NO_DAEMON_WORDS.has(word))) return;
  // Called before bin/tsublk installs the code cache: the installer it is about to install.
  const installer = codeCacheInstallerIn(path.dirname(fileURLToPath(import.meta.url)));
  const child = spawnDaemon(earlyWorkerArgs(words), installer);
  slot[KEY] = child;
  markStart(`cli: daemon started early (pid ${child.pid ?? 0})`);
  // Whatever way the CLI ends, an unused daemon goes with it.
  process.once('exit', () => {
    if (slot[KEY] === child) child.kill('SIGKILL');
  });
}

/** The daemon bin/tsublk started, handed over once (null when none was started). */
export function takePrestartedDaemon(): ChildProcess | null {
  const child = slot[KEY] ?? null;
  slot[KEY] = null;
  return child;
}

/** A command that will not use the daemon started for it: kills it and waits until it is gone. */
export async function discardPrestartedDaemon(): Promise<void> {
  const child = takePrestartedDaemon();
  if (child === null) return;
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  }
}
