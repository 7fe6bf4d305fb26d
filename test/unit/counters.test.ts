import { describe, expect, it } from 'vitest';
import { counterTable } from '../../src/blk/counters.js';
import { loopTarget } from '../../src/targets/loop/target.js';
import { memoryTarget } from '../../src/targets/memory.js';
import { nullTarget } from '../../src/targets/null.js';
import { MAX_TARGET_COUNTERS } from '../../src/ublk/stats.js';

describe('counterTable', () => {
  it('names each slot by its position', () => {
    const table = counterTable(['reads', 'writes', 'errors']);
    expect(table.at).toEqual({ reads: 0, writes: 1, errors: 2 });
    expect(table.names).toEqual(['reads', 'writes', 'errors']);
  });

  it('refuses a name twice', () => {
    expect(() => counterTable(['reads', 'reads'])).toThrow('counter names repeat: reads, reads');
  });

  it.each([nullTarget, memoryTarget, loopTarget])(
    "the built-in targets' counters fit a queue's stats slot: $name",
    (target) => {
      expect(target.statistics?.names.length).toBeLessThanOrEqual(MAX_TARGET_COUNTERS);
    },
  );
});
