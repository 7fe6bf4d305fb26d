import { describe, expect, it } from 'vitest';
import { leftovers, ok, tsublk } from '../vm/cli.js';

// A soak loop for npm run test:stress (in the VM): the CLI end to end, each add a new daemon.
describe('add/del through the CLI', () => {
  it('50 cycles of add, I/O, del leave no device, daemon or run file', () => {
    for (let cycle = 0; cycle < 50; cycle++) {
      const add = tsublk('add', '-t', 'null', '-n', '0', '-q', '2', '--size', '256M');
      expect(add.status, `cycle ${cycle}: ${add.stderr}`).toBe(0);
      ok('dd', 'if=/dev/ublkb0', 'of=/dev/null', 'bs=64k', 'count=64', 'iflag=direct');
      const del = tsublk('del', '-n', '0');
      expect(del.status, `cycle ${cycle}: ${del.stderr}`).toBe(0);
      expect(leftovers(), `cycle ${cycle}`).toEqual({ devices: [], daemons: [], runFiles: [] });
    }
  }, 3_600_000);
});
