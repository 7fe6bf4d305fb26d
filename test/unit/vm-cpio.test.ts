import { describe, expect, it } from 'vitest';
import { writeCpio } from '../../vm/cpio.js';

/** Reads a newc archive back: enough of a parser to check what the kernel will unpack. */
function readCpio(archive: Buffer): Array<{ name: string; mode: number; data: Buffer }> {
  const entries = [];
  let offset = 0;
  for (;;) {
    expect(archive.toString('ascii', offset, offset + 6)).toBe('070701');
    const field = (i: number): number =>
      Number.parseInt(archive.toString('ascii', offset + 6 + i * 8, offset + 14 + i * 8), 16);
    const mode = field(1);
    const size = field(6);
    const nameSize = field(11);
    const name = archive.toString('utf8', offset + 110, offset + 110 + nameSize - 1);
    const dataStart = Math.ceil((offset + 110 + nameSize) / 4) * 4;
    const data = archive.subarray(dataStart, dataStart + size);
    offset = Math.ceil((dataStart + size) / 4) * 4;
    if (name === 'TRAILER!!!') return entries;
    entries.push({ name, mode, data });
  }
}

describe('writeCpio (newc)', () => {
  it('writes directories, files and symlinks the way the kernel reads them', () => {
    const archive = writeCpio([
      { kind: 'directory', path: 'bin' },
      { kind: 'file', path: '/bin/busybox', data: Buffer.from('xyz'), mode: 0o755 },
      { kind: 'symlink', path: 'bin/sh', target: 'busybox' },
      { kind: 'file', path: 'init', data: Buffer.alloc(0) },
    ]);
    expect(archive.length % 4).toBe(0);
    expect(readCpio(archive)).toEqual([
      { name: 'bin', mode: 0o040755, data: Buffer.alloc(0) },
      { name: 'bin/busybox', mode: 0o100755, data: Buffer.from('xyz') },
      { name: 'bin/sh', mode: 0o120777, data: Buffer.from('busybox') },
      { name: 'init', mode: 0o100644, data: Buffer.alloc(0) },
    ]);
  });

  it('is reproducible: the same entries give the same bytes', () => {
    const entries = [{ kind: 'file', path: 'a', data: Buffer.from('1') }] as const;
    expect(writeCpio(entries).equals(writeCpio(entries))).toBe(true);
  });
});
