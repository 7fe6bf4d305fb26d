// `npm run bench`'s arguments, checked on the host before the VM boots: --help, and --only's names.
import { suites } from './suites.js';

const suiteNames = suites.map((suite) => suite.device.replace(/^tsublk-/, ''));
const usage = `usage: npm run bench [-- OPTIONS]
  --only SUITES        some suites: ${suiteNames.join(',')}
  --workloads NAMES    some workloads: ${[...new Set(suites.flatMap((suite) => suite.workloads.map((w) => w.name)))].join(',')}
  --runs N             runs per workload, the median shown (3)
  --seconds S          each run's length (5)
  --warmup S           a warm-up run before each workload's runs, 0 for none (3)
  --placement P        queue placement for every suite (each target's default)
  --kernel K           the VM's kernel: trixie (6.12, the default) or sid
  --json               the results as JSON
  --report DIR         an HTML report and results.json in DIR
  --compare OLD.json   beside an earlier --report's results
`;

/** The usage, or a one-line error for an unknown --only suite; null when the arguments are fine. */
export function checkArguments(args: readonly string[]): { text: string; status: number } | null {
  if (args.includes('--help') || args.includes('-h')) return { text: usage, status: 0 };
  const onlyAt = args.indexOf('--only');
  const unknown = onlyAt < 0 ? [] : (args[onlyAt + 1] ?? '').split(',').filter((name) => !suiteNames.includes(name));
  if (unknown.length > 0)
    return {
      text: `bench: unknown suite ${unknown.join(', ')}: use --only with ${suiteNames.join(', ')}\n`,
      status: 2,
    };
  return null;
}
