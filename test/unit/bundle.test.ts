// The bundled entry points (npm run build → dist/bundle/cli): what bin/tsublk, the daemon and the
// queue workers run. Lookups relative to the bundle, lazy loading and source maps must hold.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../../bin/tsublk', import.meta.url));
const refuseKoffi = fileURLToPath(new URL('../support/refuse-koffi.cjs', import.meta.url));
const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

function cli(
  args: readonly string[],
  nodeOptions: readonly string[] = [],
  env: Record<string, string> = {},
): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [...nodeOptions, bin, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('the bundled CLI', () => {
  it("prints the package's version (package.json found from the bundle)", () => {
    expect(cli(['--version']).stdout.trim()).toBe(manifest.version);
  });

  it('runs from the bundle, not from dist/src', () => {
    const result = cli(['add', '-t', 'null', '--bs', '3'], [], { TSUBLK_DEBUG: '1' });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/at planAdd \(.*dist\/bundle\/cli\/plan\.js:\d+:\d+\)/);
  });

  it('maps a stack back to the TypeScript sources with --enable-source-maps', () => {
    const result = cli(['add', '-t', 'null', '--bs', '3'], ['--enable-source-maps'], { TSUBLK_DEBUG: '1' });
    expect(result.stderr.split('\n')[0]).toBe('tsublk: UserError: bad block size 3: use --bs 512, 1024, 2048 or 4096');
    expect(result.stderr).toMatch(/at planAdd \(.*src\/cli\/plan\.ts:\d+:\d+\)/);
  });

  it('prints one line without TSUBLK_DEBUG', () => {
    expect(cli(['add', '-t', 'null', '--bs', '3']).stderr).toBe(
      'tsublk: bad block size 3: use --bs 512, 1024, 2048 or 4096\n',
    );
  });

  it("prints --help and -h from the text the build wrote, the CLI's own help word for word", () => {
    const parsed = cli(['help']); // through the CLI's bundle and parser
    expect(parsed.status).toBe(0);
    expect(parsed.stdout).toMatch(/^tsublk <command> \[options\]\n/);
    expect(readFileSync(new URL('../../dist/bundle/cli/help.txt', import.meta.url), 'utf8')).toBe(parsed.stdout);
    expect(cli(['--help'])).toEqual(parsed);
    expect(cli(['-h'])).toEqual(parsed);
  });

  it("loads no FFI for --help, a command's --help, or checking an add", () => {
    const preload = ['--require', refuseKoffi];
    expect(cli(['--help'], preload).status).toBe(0);
    expect(cli(['add', '--help'], preload).status).toBe(0);
    // A module target that does not exist: the whole plan is checked, no target code is loaded.
    const add = cli(['add', '-t', '/nonexistent/target.js'], preload);
    expect(add.stderr).toBe(
      'tsublk: target module /nonexistent/target.js does not exist: give the path of a .js file whose default export is a Target\n',
    );
    // The guard itself: a command that needs the FFI is stopped by it.
    expect(cli(['list'], preload).stderr).toContain('koffi was loaded');
  });

  it('refuses an unknown option or command in one line', () => {
    expect(cli(['add', '-t', 'null', '--sise', '1G'])).toMatchObject({
      status: 1,
      stderr: 'tsublk: unknown option --sise: see tsublk add --help\n',
    });
    expect(cli(['lsit'])).toMatchObject({ status: 1, stderr: "tsublk: unknown command 'lsit': see tsublk --help\n" });
    expect(cli(['list', '-n', 'x'])).toMatchObject({
      status: 1,
      stderr: "tsublk: bad --number 'x': a number is needed (see tsublk list --help)\n",
    });
  });
});

describe('what each bundle carries', () => {
  /** The TypeScript sources a bundle was built from (its source map), as paths from the project root. */
  const sources = (bundle: string): string[] =>
    (
      JSON.parse(readFileSync(new URL(`../../dist/bundle/cli/${bundle}.js.map`, import.meta.url), 'utf8')) as {
        sources: string[];
      }
    ).sources.map((source) => source.replace(/^(\.\.\/)+/, ''));
  const targetCode = [
    'src/targets/null.ts',
    'src/targets/memory.ts',
    'src/targets/loop/target.ts',
    'src/targets/nbd/target.ts',
  ];

  it("keeps the targets' code out of the CLI's bundles (their options only), and in the daemon's and the queue worker's", () => {
    // Every CLI start reads its parser's bundle: the targets' code was ~100 KB of each before.
    for (const bundle of ['main', 'plan', 'start-daemon', 'list', 'delete', 'stats', 'features'])
      expect(
        sources(bundle).filter((source) => targetCode.includes(source)),
        bundle,
      ).toEqual([]);
    expect(sources('main')).toContain('src/targets/null-options.ts');
    // Nor a command's own modules: each is a bundle of its own, loaded when that command runs.
    for (const command of ['plan', 'start-daemon', 'list', 'delete', 'stats'])
      expect(sources('main')).not.toContain(`src/cli/${command}.ts`);
    for (const bundle of ['serve-daemon', 'queue-worker'])
      expect(sources(bundle)).toEqual(expect.arrayContaining(targetCode));
  });
});
