import { describe, expect, it } from 'vitest';
import { WaitMode, WaitPolicy } from '../../src/ublk/wait-policy.js';

/** Runs the policy for `ms` milliseconds in 1 ms rounds; returns the share of rounds spent in `mode`. */
function simulate(
  policy: WaitPolicy,
  start: number,
  ms: number,
  mode: WaitMode,
  served: (mode: WaitMode) => number,
): number {
  let rounds = 0;
  for (let t = start; t < start + ms; t++) {
    if (policy.mode === mode) rounds++;
    policy.update(t + 1, served(policy.mode));
  }
  return rounds / ms;
}

const rates =
  (plain: number, batch: number, spin: number) =>
  (mode: WaitMode): number =>
    mode === WaitMode.Batch ? batch : mode === WaitMode.Spin ? spin : plain;

describe('WaitPolicy', () => {
  it('keeps waiting for batches where that serves more requests a second', () => {
    const policy = new WaitPolicy(0);
    // One submitter at depth: waiting serves 1.8x as many, spinning a little more than plain.
    expect(simulate(policy, 0, 5000, WaitMode.Batch, rates(10, 18, 11))).toBeGreaterThan(0.8);
  });

  it('stops waiting where waiting serves fewer, probing the other ways less than a fifth of the time', () => {
    const policy = new WaitPolicy(0);
    expect(simulate(policy, 0, 5000, WaitMode.Plain, rates(20, 16, 17))).toBeGreaterThan(0.8);
    expect(policy.mode).toBe(WaitMode.Plain);
  });

  it('spins where spinning serves more by its margin, and not on a near tie', () => {
    const spinning = new WaitPolicy(0);
    // One queue at QD1, the submitter on another CPU: 4x.
    expect(simulate(spinning, 0, 5000, WaitMode.Spin, rates(3, 3, 12))).toBeGreaterThan(0.8);
    const sharing = new WaitPolicy(0);
    // The queue shares the submitter's CPU: spinning gains 5 %, which does not pay for the CPU.
    expect(simulate(sharing, 0, 5000, WaitMode.Spin, rates(20, 20, 21))).toBeLessThan(0.1);
  });

  it('does not wait on a tie (latency), and follows a change of load within about a second and a half', () => {
    const policy = new WaitPolicy(0);
    expect(simulate(policy, 0, 3000, WaitMode.Batch, () => 10)).toBeLessThan(0.15);
    expect(simulate(policy, 3000, 5000, WaitMode.Batch, rates(10, 30, 10))).toBeGreaterThan(0.6);
  });

  it('measures afresh after sleeping idle through a phase', () => {
    const policy = new WaitPolicy(0);
    simulate(policy, 0, 350, WaitMode.Plain, rates(50, 5, 5)); // decided at 300 ms: plain
    expect(policy.mode).toBe(WaitMode.Plain);
    policy.update(60_000, 1); // a minute asleep
    expect(policy.mode).toBe(WaitMode.Batch); // probing again from the start
  });
});
