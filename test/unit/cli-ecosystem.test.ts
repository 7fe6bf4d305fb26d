// The CLI beside its peers: the C utility's long option names, -v, `help COMMAND`, help that
// wraps between words, and shell completion drawn from the command table.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { type CommandSpec, parseCommand, wrap } from '../../src/cli/args.js';
import { addOptions } from '../../src/cli/add-options.js';

const bin = fileURLToPath(new URL('../../bin/tsublk', import.meta.url));
const cli = (...args: string[]): { status: number | null; stdout: string; stderr: string } => {
  const result = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
};

describe("the C ublk utility's long option names", () => {
  const add: CommandSpec = {
    name: 'add',
    describe: 'add',
    options: addOptions(['null']),
    run: () => Promise.resolve(),
  };
  it.each([
    ['--uring_comp', 'u'],
    ['--need_get_data', 'g'],
    ['--user_recovery', 'r'],
    ['--user_recovery_fail_io', 'e'],
    ['--user_recovery_reissue', 'i'],
  ])('%s sets -%s', (flag, short) => {
    expect(parseCommand(add, ['-t', 'null', flag, '1']).args[short]).toBe(1);
  });

  it('--zerocopy is -z, --batch-io is -b, and --debug_mask is taken', () => {
    const { args } = parseCommand(add, ['-t', 'null', '--zerocopy', '--batch-io', '--debug_mask', '3']);
    expect(args).toMatchObject({ auto_zc: true, 'batch-io': true, debug_mask: 3 });
    expect(parseCommand(add, ['-t', 'null', '-b']).args['batch-io']).toBe(true);
  });

  it('shows each alias beside its option in the help', () => {
    const help = cli('add', '--help').stdout;
    expect(help).toMatch(/^ {2}-u, --uring_comp +1: UBLK_F_URING_CMD_COMP_IN_TASK/m);
    expect(help).toMatch(/^ {2}-z, --auto_zc, --zerocopy\b/m);
  });
});

describe('version and help', () => {
  it('-v prints the version, as --version does', () => {
    expect(cli('-v')).toEqual(cli('--version'));
    expect(cli('-v').stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it('help COMMAND is COMMAND --help; help alone is --help; an unknown one is one line', () => {
    expect(cli('help', 'add').stdout).toBe(cli('add', '--help').stdout);
    expect(cli('help').stdout).toBe(cli('--help').stdout);
    expect(cli('help', 'nope')).toMatchObject({
      status: 1,
      stderr: "tsublk: unknown command 'nope': see tsublk --help\n",
    });
  });

  it('wraps at 80 columns off a terminal, between words only', () => {
    const help = cli('add', '--help').stdout;
    const lines = help.split('\n');
    expect(Math.max(...lines.map((line) => line.length))).toBeLessThanOrEqual(80);
    // Every word of a long description is whole on some line.
    for (const word of 'socket I/O move request data without a copy through user memory'.split(' '))
      expect(lines.some((line) => line.split(/\s+/).includes(word))).toBe(true);
    expect(help.replace(/\s+/g, ' ')).toContain('binary units: 1G is 1 GiB');
  });

  it('wrap() breaks between words and indents the lines after the first', () => {
    expect(wrap('one two three four', 9, 2)).toEqual(['one two', '  three', '  four']);
    expect(wrap('averyveryverylongword x', 5, 0)).toEqual(['averyveryverylongword', 'x']); // a word is never split
  });
});

describe('tsublk completion', () => {
  const emptyDir = mkdtempSync(path.join(tmpdir(), 'tsublk-completion-'));
  afterAll(() => rmSync(emptyDir, { recursive: true, force: true }));
  /** What bash completes for the words typed so far (the last one being completed). */
  function complete(shell: string, ...typed: string[]): string[] {
    const script = cli('completion', shell).stdout;
    const words = ['tsublk', ...typed].map((word) => `'${word}'`).join(' ');
    const run = spawnSync(
      'bash',
      [
        '-c',
        `${script}\nCOMP_WORDS=(${words}); COMP_CWORD=${typed.length}; _tsublk; printf '%s\\n' "\${COMPREPLY[@]}"`,
      ],
      { encoding: 'utf8', cwd: emptyDir }, // files complete too: none here
    );
    expect(run.stderr).toBe('');
    return run.stdout.split('\n').filter((line) => line !== '');
  }

  it('completes commands, then the options of the command typed, then targets after -t', () => {
    expect(complete('bash', 're')).toEqual(['resize', 'restart', 'recover']);
    expect(complete('bash', 'add', '--user_rec')).toEqual([
      '--user_recovery',
      '--user_recovery_fail_io',
      '--user_recovery_reissue',
    ]);
    expect(complete('bash', 'add', '-t', 'me')).toEqual(['memory']);
    expect(complete('bash', 'del', '--')).toEqual(expect.arrayContaining(['--number', '--all', '--safe', '--help']));
  });

  it('gives zsh the same through bashcompinit, and refuses another shell in one line', () => {
    expect(cli('completion', 'zsh').stdout).toMatch(/^autoload -U \+X bashcompinit && bashcompinit\n/);
    expect(cli('completion', 'fish')).toMatchObject({
      status: 1,
      stderr: "tsublk: bad shell 'fish': use bash or zsh\n",
    });
  });
});
