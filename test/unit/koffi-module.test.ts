import { describe, expect, it } from 'vitest';
import { koffi, koffiOpenedBy } from '../../native-bindings/koffi-module.js';

describe('Koffi, opened the short way', () => {
  it('opens its native module directly on linux-x64 (glibc), skipping the package entry', () => {
    expect(koffiOpenedBy).toBe(
      process.platform === 'linux' && process.arch === 'x64' ? 'native module' : 'package entry',
    );
  });

  it('is the whole API: a libc call through it returns what Node says', () => {
    const getpid = koffi.load('libc.so.6').func('int getpid()') as () => number;
    expect(getpid()).toBe(process.pid);
    expect(typeof koffi.errno).toBe('function');
    expect(koffi.version).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
