import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadTarget } from '../../src/targets/load-target.js';

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));

describe('target modules (-t ./x.js)', () => {
  it('loads a target compiled to CommonJS (exports.default under the module default)', async () => {
    const target = await loadTarget(fixture('commonjs-target.cjs'));
    expect(target.name).toBe('commonjs-null');
    expect(typeof target.operations.queueRq).toBe('function');
  });

  it('loads an ES module target (its default export)', async () => {
    const target = await loadTarget(fileURLToPath(new URL('../vm/fixtures/probe-target.mjs', import.meta.url)));
    expect(typeof target.operations.queueRq).toBe('function');
  });

  it('refuses a module whose default is not a Target, in one line', async () => {
    await expect(loadTarget(fixture('not-a-target.cjs'))).rejects.toThrow(
      /has no default export that is a Target \(with operations\.queueRq\)$/,
    );
  });

  describe("a module's own options", () => {
    const bin = fileURLToPath(new URL('../../bin/tsublk', import.meta.url));
    const probe = fileURLToPath(new URL('../vm/fixtures/probe-target.mjs', import.meta.url));
    const tsublk = (...args: string[]): ReturnType<typeof spawnSync> =>
      spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });

    it("appear in add -t ./x.js --help under the target, and no other target's do", () => {
      const help = String(tsublk('add', '-t', probe, '--help').stdout);
      expect(help).toMatch(
        /probe target \(.*probe-target\.mjs\):\n\s+--delay_us\s+probe: a setting that reaches initHctx \(default 0\)\s+\[number\]/,
      );
      expect(help).not.toContain('--irqmode');
      expect(help).not.toContain('--backing');
    });

    it('are checked against the table: a bad value is one line, before anything is created', () => {
      const bad = tsublk('add', '-t', probe, '--delay_us', '-5');
      expect(bad.status).toBe(1);
      expect(bad.stderr).toBe('tsublk: bad --delay_us -5: use --delay_us between 0 and 1000000\n');
      expect(String(tsublk('add', '-t', probe, '--delay_us', 'x').stderr)).toBe(
        "tsublk: bad --delay_us 'x': a number is needed (see tsublk add --help)\n",
      );
    });

    it.runIf(!existsSync('/dev/ublk-control'))(
      'let a good value through to the daemon (here: to the missing ublk_drv)',
      () => {
        expect(tsublk('add', '-t', probe, '--delay_us', '5').stderr).toMatch(
          /^tsublk: \/dev\/ublk-control does not exist: /,
        );
      },
    );
  });

  it("gives each built-in target its own help: add -t loop --help lists loop's options and no other target's", () => {
    const bin = fileURLToPath(new URL('../../bin/tsublk', import.meta.url));
    const help = String(spawnSync(process.execPath, [bin, 'add', '-t', 'loop', '--help'], { encoding: 'utf8' }).stdout);
    expect(help).toMatch(
      /loop target \(a file or block device[\s\S]*?\):\n\s+-f, --file\s+the regular file or block device to serve/,
    );
    for (const option of ['--buffered_io', '--offset', '--read_only']) expect(help).toContain(option);
    expect(help).not.toContain('--irqmode');
    expect(help).not.toContain('--backing');
  });
});
