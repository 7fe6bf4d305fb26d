// npm run bench's arguments, checked on the host before a VM boots: --help prints the options
// (every suite named), an unknown --only suite is one line and exit 2, and the rest goes on.
import { describe, expect, it } from 'vitest';
import { checkArguments } from '../../bench/arguments.js';
import { suites } from '../../bench/suites.js';

describe('npm run bench arguments', () => {
  it('prints the options with --help, naming every suite and workload', () => {
    const help = checkArguments(['--help']);
    expect(help?.status).toBe(0);
    for (const suite of suites) expect(help?.text).toContain(suite.device.replace(/^tsublk-/, ''));
    expect(help?.text).toContain('read-128k-qd16-j1');
    expect(help?.text).toMatch(/--kernel K .*sid/);
  });

  it('refuses an unknown --only suite in one line, and lets known ones through', () => {
    expect(checkArguments(['--only', 'nbd,nope'])).toEqual({
      text: `bench: unknown suite nope: use --only with ${suites.map((suite) => suite.device.slice('tsublk-'.length)).join(', ')}\n`,
      status: 2,
    });
    expect(checkArguments(['--only', 'nbd,nbd-zc', '--runs', '2'])).toBeNull();
    expect(checkArguments([])).toBeNull();
  });
});
