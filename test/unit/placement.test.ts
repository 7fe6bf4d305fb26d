import { describe, expect, it } from 'vitest';
import { queueCpus } from '../../src/ublk/placement.js';

describe('queueCpus', () => {
  it('places a queue beside the CPUs that submit to it, and anywhere when all of them do', () => {
    expect(queueCpus('beside', 0, [0], 2)).toEqual([1]);
    expect(queueCpus('beside', 1, [2, 3], 4)).toEqual([0, 1]);
    expect(queueCpus('beside', 0, [0, 1, 2, 3], 4)).toEqual([]);
  });

  it("follows the kernel's CPUs for the queue (submitters) or pins queue q to CPU q (pin)", () => {
    expect(queueCpus('submitters', 1, [2, 3], 4)).toEqual([2, 3]);
    expect(queueCpus('pin', 5, [], 4)).toEqual([1]);
  });
});
