import { describe, expect, it } from 'vitest';
import { parseStartArguments } from '../../bench/start-arguments.js';

describe('npm run bench:start arguments', () => {
  it('takes the defaults, and each option', () => {
    expect(parseStartArguments([])).toEqual({ runs: 5, phases: false, json: false, kernel: null });
    expect(parseStartArguments(['--runs', '3', '--phases', '--json', '--kernel', 'sid'])).toEqual({
      runs: 3,
      phases: true,
      json: true,
      kernel: 'sid',
    });
  });

  it('answers --help with the usage', () => {
    expect(parseStartArguments(['--runs', '3', '--help'])).toEqual({ help: true });
  });

  it('refuses an unknown word, a bad --runs and a --kernel without a value, in one line each', () => {
    expect(parseStartArguments(['--kernal', 'sid'])).toEqual({
      error: 'unknown option --kernal: see npm run bench:start -- --help',
    });
    expect(parseStartArguments(['--runs', '0'])).toEqual({ error: 'bad --runs 0: give a whole number from 1' });
    expect(parseStartArguments(['--runs'])).toEqual({ error: '--runs needs a value: a whole number from 1' });
    expect(parseStartArguments(['--kernel', '--json'])).toEqual({
      error: '--kernel needs a value: trixie, sid or a vmlinuz path',
    });
  });
});
