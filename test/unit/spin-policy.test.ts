import { describe, expect, it } from 'vitest';
import { SpinPolicy } from '../../src/ublk/spin-policy.js';

/** How many of `rounds` rounds spin when every spin has the outcome `hit`. */
function spinsOver(policy: SpinPolicy, rounds: number, hit: boolean): number {
  let spins = 0;
  for (let round = 0; round < rounds; round++) {
    if (!policy.shouldSpin()) continue;
    spins++;
    policy.record(hit);
  }
  return spins;
}

describe('SpinPolicy', () => {
  it('spins every round while its spins catch the next request', () => {
    expect(spinsOver(new SpinPolicy(), 1000, true)).toBe(1000);
  });

  it('backs off doubling after misses, to one spin in 65 rounds, and a hit resets it', () => {
    const policy = new SpinPolicy();
    // 1 + 2 + 4 + … + 64 rounds skipped after the first misses, then one spin per 65 rounds.
    expect(spinsOver(policy, 127 + 65 * 10, false)).toBe(7 + 10);
    while (!policy.shouldSpin()); // the next spin that is allowed…
    policy.record(true); // …catches a request
    expect(policy.shouldSpin()).toBe(true);
  });
});
