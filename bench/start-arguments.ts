// `npm run bench:start`'s arguments, checked on the host before the VM boots: an unknown word is
// one line and exit 2, not a boot that measures something else.
export const startUsage = `usage: npm run bench:start [-- OPTIONS]
  --runs N      measured rounds, the median shown (5), after one warm-up round
  --phases      one traced run of each command, its start phases on one time line
  --kernel K    the VM's kernel: trixie (6.12, the default), sid, or a path to a vmlinuz
  --json        the results as JSON
`;

export interface StartArguments {
  readonly runs: number;
  readonly phases: boolean;
  readonly json: boolean;
  /** The VM's kernel (--kernel), null for the VM's default; the host's to pass, the guest ignores it. */
  readonly kernel: string | null;
}

/** The arguments, the usage (`help`), or a one-line error naming the word and the fix. */
export function parseStartArguments(words: readonly string[]): StartArguments | { help: true } | { error: string } {
  let runs = 5;
  let phases = false;
  let json = false;
  let kernel: string | null = null;
  for (let at = 0; at < words.length; at++) {
    const word = words[at];
    if (word === '--help' || word === '-h') return { help: true };
    if (word === '--phases') phases = true;
    else if (word === '--json') json = true;
    else if (word === '--runs') {
      const value = words[++at];
      if (value === undefined) return { error: '--runs needs a value: a whole number from 1' };
      runs = Number(value);
      if (!Number.isInteger(runs) || runs < 1) return { error: `bad --runs ${value}: give a whole number from 1` };
    } else if (word === '--kernel') {
      kernel = words[++at] ?? '';
      if (kernel === '' || kernel.startsWith('-'))
        return { error: '--kernel needs a value: trixie, sid or a vmlinuz path' };
    } else return { error: `unknown option ${word ?? ''}: see npm run bench:start -- --help` };
  }
  return { runs, phases, json, kernel };
}
