import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tsc = path.join(root, 'node_modules/typescript/bin/tsc');

/** The ```ts blocks of src/index.ts's doc comment: what ships in dist/src/index.d.ts. */
function docExamples(): string[] {
  const source = readFileSync(path.join(root, 'src/index.ts'), 'utf8');
  return [...source.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => (match[1] ?? '').replace(/^ \* ?/gm, ''));
}

describe("the package's doc examples", () => {
  it('compile against the published types, as a user would import them', { timeout: 60_000 }, () => {
    const examples = docExamples();
    expect(examples.length).toBeGreaterThanOrEqual(2);
    // Inside the package, so that 'tsublk' resolves to itself through package.json's exports.
    const dir = mkdtempSync(path.join(root, '.example-'));
    try {
      const files = examples.map((code, index) => {
        const file = path.join(dir, `example-${index}.ts`);
        writeFileSync(file, `${code}\nexport {};\n`);
        return file;
      });
      const result = spawnSync(
        process.execPath,
        [
          tsc,
          '--ignoreConfig',
          '--noEmit',
          '--strict',
          '--module',
          'nodenext',
          '--moduleResolution',
          'nodenext',
          '--target',
          'es2022',
          '--types',
          'node',
          ...files,
        ],
        {
          cwd: root,
          encoding: 'utf8',
        },
      );
      expect(result.stdout + result.stderr).toBe('');
      expect(result.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
