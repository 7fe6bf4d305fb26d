// The in-VM files that run two at a time (vitest.config.ts) must not touch each other's devices:
// each declares the ids it owns, no two files' ids overlap, and every device id the file names
// (`-n N`, /dev/ublkbN, /run/tsublk/N.*, /dev/shm/tsublk-N) is one of its own.
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runAlone } from '../vm/run-alone.js';

const vmDir = fileURLToPath(new URL('../vm/', import.meta.url));
const besideOthers = readdirSync(vmDir)
  .filter((name) => name.endsWith('.test.ts') && !runAlone.includes(name.replace(/\.test\.ts$/, '')))
  .map((name) => ({ name, text: readFileSync(`${vmDir}${name}`, 'utf8') }));

/** Every device id a test file names literally. */
function namedIds(text: string): number[] {
  const patterns = [/'-n',\s*'(\d+)'/g, /ublk[bc](\d+)/g, /\/run\/tsublk\/(\d+)\./g, /\/dev\/shm\/tsublk-(\d+)/g];
  return patterns.flatMap((pattern) => [...text.matchAll(pattern)].map((match) => Number(match[1])));
}

/** The file's `const ids: DeviceIds = { first, last }`, or undefined. */
function declaredIds(text: string): { first: number; last: number } | undefined {
  const match = /const ids: DeviceIds = \{ first: (\d+), last: (\d+) \}/.exec(text);
  return match === null ? undefined : { first: Number(match[1]), last: Number(match[2]) };
}

describe('device ids of the in-VM files that run beside another', () => {
  it('lists files that exist as the ones to run alone', () => {
    const files = readdirSync(vmDir);
    for (const name of runAlone) expect(files, name).toContain(`${name}.test.ts`);
  });

  it.each(besideOthers.map(({ name, text }) => [name, text]))('%s names only ids of its own', (_name, text) => {
    const named = namedIds(text);
    const ids = declaredIds(text);
    if (ids === undefined) {
      expect(named, 'a file that serves devices declares its ids: const ids: DeviceIds = { first, last }').toEqual([]);
      return;
    }
    expect(named.filter((id) => id < ids.first || id > ids.last)).toEqual([]);
    expect(text).toContain('cleanUp(ids)');
  });

  it('gives no two files the same id', () => {
    const ranges = besideOthers.flatMap(({ name, text }) => {
      const ids = declaredIds(text);
      return ids === undefined ? [] : [{ name, ...ids }];
    });
    expect(ranges.length).toBeGreaterThan(5);
    for (const a of ranges)
      for (const b of ranges)
        if (a !== b) expect(a.last < b.first || b.last < a.first, `${a.name} and ${b.name}`).toBe(true);
  });
});
