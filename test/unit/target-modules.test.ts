import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadTarget } from '../../src/targets/registry.js';

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
    await expect(loadTarget(fixture('not-a-target.cjs'))).rejects.toThrow(/has no default export that is a Target \(with operations\.queueRq\)$/);
  });
});
