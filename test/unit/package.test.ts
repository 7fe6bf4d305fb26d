// What `npm pack` puts in the package (the CLI, its VM, the licence, no stray files), and that it installs and runs.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('the npm package', () => {
  const pack = npm(['pack', '--dry-run', '--json', '--ignore-scripts'], root);
  const files = (JSON.parse(pack) as Array<{ files: Array<{ path: string }> }>)[0]?.files.map((f) => f.path) ?? [];
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

describe('the npm package, installed from its tarball in a scratch project', () => {
  it("imports as 'tsublk' (ESM, with its types) and runs as the tsublk command", () => {
    const scratch = mkdtempSync(path.join(tmpdir(), 'tsublk-install-'));
    try {
      const packed = npm(['pack', '--json', '--ignore-scripts', '--pack-destination', scratch], root);
      const tarball = (JSON.parse(packed) as Array<{ filename: string }>)[0]?.filename ?? '';
      const project = path.join(scratch, 'project');
      mkdirSync(project);
      writeFileSync(path.join(project, 'package.json'), '{ "name": "scratch", "private": true, "type": "module" }\n');
      // From npm's cache where npm ci left the dependencies; the registry only for what it lacks.
      npm(['install', '--prefer-offline', '--no-audit', '--no-fund', path.join(scratch, tarball)], project);

      const imported = spawnSync(
        process.execPath,
        ['--input-type=module', '-e', "const m = await import('tsublk'); console.log(Object.keys(m).sort().join(' '))"],
        { cwd: project, encoding: 'utf8' },
      );
      expect(imported.stderr).toBe('');
      expect(imported.stdout.split(' ')).toEqual(expect.arrayContaining(['Request', 'Ring', 'nullTarget']));
      expect(existsSync(path.join(project, 'node_modules/tsublk/dist/src/index.d.ts'))).toBe(true);

      const version = spawnSync(path.join(project, 'node_modules/.bin/tsublk'), ['--version'], { encoding: 'utf8' });
      expect(version.stdout.trim()).toBe(
        String((JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as Record<string, unknown>)['version']),
      );
      expect(version.status).toBe(0);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }, 120_000);
});

/** Runs npm in `cwd`; its stdout. Throws with its stderr when it fails. */
function npm(args: readonly string[], cwd: string): string {
  const result = spawnSync('npm', args, { cwd, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`npm ${args.join(' ')} exited ${result.status}: ${result.stderr.trim()}`);
  return result.stdout;
}
