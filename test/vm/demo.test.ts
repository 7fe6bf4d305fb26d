// `npm run demo`, the README's first command, as it runs inside a guest.
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { cleanUp, leftovers, run } from './cli.js';

afterEach(() => {
  cleanUp();
  expect(leftovers()).toEqual({ devices: [], daemons: [], runFiles: [] });
});

it('runs a memory device end to end and removes it', () => {
  const demo = fileURLToPath(new URL('../../dist/src/cli/demo.js', import.meta.url));
  // fio for 2 s, not the 10 s a user watches: the same steps, 8 s less of the suite.
  const result = run(process.execPath, [demo, '--seconds', '2'], { timeoutMs: 180_000 });
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  expect(result.stdout).toMatch(/^demo: Linux \S+, ublk_drv loaded: a 1 GiB memory device, end to end$/m);
  expect(result.stdout).toMatch(/all read back identical/);
  expect(result.stdout).toMatch(/fio randrw 4k QD32, 2 s: [1-9]\d* IOPS/);
  expect(result.stdout).toMatch(/target \{"dev_size":1073741824,"name":"memory","type":1\}/);
  expect(result.stdout).toMatch(/demo: deleted \/dev\/ublkb\d+: nothing left behind$/m);
});
