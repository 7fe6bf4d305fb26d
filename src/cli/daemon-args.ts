import type { AddPlan } from './plan.js';

/** What `add` and `recover` hand their daemon: `serve --plan JSON` or `serve --recover ID`. */
export interface DaemonArgs {
  readonly plan: AddPlan | null;
  readonly recover: number | null;
}

export function daemonArgs(plan: AddPlan | null, recover: number | null): string[] {
  return recover === null ? ['serve', '--plan', JSON.stringify(plan)] : ['serve', '--recover', String(recover)];
}

/**
 * What the daemon read on its stdin (a JSON array of its arguments, from startDaemon), or null
 * when nothing came: the command that started it ended without needing it.
 */
export function daemonArgsFromInput(text: string): string[] | null {
  if (text.trim() === '') return null;
  const args: unknown = JSON.parse(text);
  if (!Array.isArray(args) || !args.every((arg) => typeof arg === 'string'))
    throw new Error('the daemon reads a JSON array of strings on its stdin; tsublk add and recover send it');
  return args;
}

export function parseDaemonArgs(args: readonly string[]): DaemonArgs {
  const [command, flag, value] = args;
  if (command !== 'serve' || value === undefined || args.length !== 3)
    throw new Error(
      `the daemon takes serve --plan JSON or serve --recover ID (got: ${args.join(' ')}); tsublk add and recover start it`,
    );
  if (flag === '--plan') return { plan: JSON.parse(value) as AddPlan, recover: null };
  if (flag === '--recover' && /^\d+$/.test(value)) return { plan: null, recover: Number(value) };
  throw new Error(`bad daemon argument ${flag} ${value}: use --plan JSON or --recover ID`);
}
