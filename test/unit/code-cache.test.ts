// The bundles' V8 code cache (src/cli/code-cache.ts): written beside a bundle once it ran, used
// only for the build it was made from, and never the reason a start fails.
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../../bin/tsublk', import.meta.url));
// udev-rules: a command bundle no other unit test starts, so no other test writes its cache meanwhile.
const bundle = fileURLToPath(new URL('../../dist/bundle/cli/udev.js', import.meta.url));
const cache = `${bundle}.v8cache`;

function udevRules(nodeOptions: readonly string[] = []): string {
  const result = spawnSync(process.execPath, [...nodeOptions, bin, 'udev-rules'], { encoding: 'utf8' });
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  return result.stdout;
}

/** The header a cache of the bundle as it is now must carry: its size and mtime. */
function header(): Buffer {
  const { size, mtimeMs } = statSync(bundle);
  const expected = Buffer.alloc(16);
  expected.writeDoubleLE(size, 0);
  expected.writeDoubleLE(mtimeMs, 8);
  return expected;
}

describe('the code cache of the bundles', () => {
  it('is written once a command ran, for this build of its bundle', () => {
    writeFileSync(cache, ''); // as if none: an empty file is no cache
    udevRules();
    const written = readFileSync(cache);
    expect(written.subarray(0, 16)).toEqual(header());
    expect(written.length).toBeGreaterThan(1000); // bytecode, not just a header
  });

  it('is used as it is by the next start, which prints the same', () => {
    const first = udevRules();
    const before = readFileSync(cache);
    expect(udevRules()).toBe(first);
    // Accepted: nothing to rewrite, so the file is byte for byte the same.
    expect(readFileSync(cache).equals(before)).toBe(true);
  });

  it('is ignored and rewritten when it names another build or holds garbage', () => {
    const expected = udevRules();
    const stale = Buffer.concat([Buffer.alloc(16, 7), Buffer.alloc(4096, 1)]);
    writeFileSync(cache, stale);
    expect(udevRules()).toBe(expected);
    expect(readFileSync(cache).subarray(0, 16)).toEqual(header());
    // The right header over bytes V8 refuses: V8 rejects them, the start compiles from source.
    writeFileSync(cache, Buffer.concat([header(), Buffer.alloc(4096, 1)]));
    expect(udevRules()).toBe(expected);
    expect(readFileSync(cache).subarray(16, 32).equals(Buffer.alloc(16, 1))).toBe(false);
  });

  it('stays out of the way of source maps', () => {
    writeFileSync(cache, '');
    udevRules(['--enable-source-maps']);
    expect(readFileSync(cache).length).toBe(0); // Node's own loader compiled it: no cache written
  });
});
