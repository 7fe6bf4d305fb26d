import { describe, expect, it } from 'vitest';
import { BatchPolicy } from '../../src/ublk/batch-policy.js';

/** Runs the policy for `ms` milliseconds in 1 ms rounds; returns the share of rounds spent waiting. */
function simulate(policy: BatchPolicy, start: number, ms: number, served: (waiting: boolean) => number): number {
  let waitingRounds = 0;
  for (let t = start; t < start + ms; t++) {
    if (policy.waiting) waitingRounds++;
    policy.update(t + 1, served(policy.waiting));
  }
  return waitingRounds / ms;
}

describe('BatchPolicy', () => {
  it('keeps waiting for batches where that serves more requests a second', () => {
    const policy = new BatchPolicy(0);
    // One submitter: waiting serves 1.8x as many.
    expect(simulate(policy, 0, 5000, (waiting) => (waiting ? 18 : 10))).toBeGreaterThan(0.85);
  });

  it('stops waiting where waiting serves fewer, probing the other way only a tenth of the time', () => {
    const policy = new BatchPolicy(0);
    expect(simulate(policy, 0, 5000, (waiting) => (waiting ? 16 : 20))).toBeLessThan(0.15);
    expect(policy.waiting).toBe(false);
  });

  it('does not wait on a tie (latency), and follows a change of load within about a second', () => {
    const policy = new BatchPolicy(0);
    expect(simulate(policy, 0, 3000, () => 10)).toBeLessThan(0.15);
    expect(simulate(policy, 3000, 5000, (waiting) => (waiting ? 30 : 10))).toBeGreaterThan(0.75);
  });

  it('measures afresh after sleeping idle through a phase', () => {
    const policy = new BatchPolicy(0);
    simulate(policy, 0, 250, (waiting) => (waiting ? 5 : 50)); // decided at 200 ms: not waiting
    expect(policy.waiting).toBe(false);
    policy.update(60_000, 1); // a minute asleep
    expect(policy.waiting).toBe(true); // probing again from the start
  });
});
