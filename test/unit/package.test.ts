// What `npm pack` puts in the package: the CLI, its VM, the licence, and no stray files.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('the npm package', () => {
  const pack = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' });
  const files =
    (JSON.parse(pack.stdout) as Array<{ files: Array<{ path: string }> }>)[0]?.files.map((f) => f.path) ?? [];
  const manifest = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as Record<string, unknown>;

  it('ships the licence, both commands and the built code, and neither sources nor code caches', () => {
    expect(files).toEqual(expect.arrayContaining(['LICENSE', 'bin/tsublk', 'dist/vm/cli.js', 'dist/src/index.js']));
    expect(files.filter((file) => file.startsWith('src/') || file.startsWith('test/'))).toEqual([]);
    expect(files.filter((file) => file.endsWith('.v8cache'))).toEqual([]);
    expect(manifest['bin']).toEqual({ tsublk: 'bin/tsublk', 'tsublk-vm': 'dist/vm/cli.js' });
    expect(readFileSync(`${root}dist/vm/cli.js`, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });

  it('says where it runs: x86-64 glibc Linux (the syscall numbers and libc.so.6 it binds)', () => {
    expect(manifest).toMatchObject({ os: ['linux'], cpu: ['x64'], libc: ['glibc'], license: 'MIT' });
    expect(manifest['keywords']).toEqual(expect.arrayContaining(['ublk', 'io_uring']));
  });

  it('carries its sources in its source maps, since src/ is not shipped', () => {
    for (const map of ['dist/src/index.js.map', 'dist/bundle/cli/main.js.map']) {
      const parsed = JSON.parse(readFileSync(`${root}${map}`, 'utf8')) as {
        sources: string[];
        sourcesContent?: string[];
      };
      expect(parsed.sourcesContent?.length, map).toBe(parsed.sources.length);
    }
  });
});
