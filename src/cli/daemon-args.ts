import type { AddPlan } from './plan.js';

/** What `add` and `recover` hand their daemon: `serve --plan JSON` or `serve --recover ID`. */
export interface DaemonArgs {
  readonly plan: AddPlan | null;
  readonly recover: number | null;
}

export function daemonArgs(plan: AddPlan | null, recover: number | null): string[] {
  return recover === null ? ['serve', '--plan', JSON.stringify(plan)] : ['serve', '--recover', String(recover)];
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
