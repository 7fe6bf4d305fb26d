import type { Ring } from '../uring/ring.js';
import type { PlacementByMode } from './placement-by-mode.js';
import { SpinPolicy } from './spin-policy.js';
import { QueueCounter } from './stats.js';
import { WaitMode, WaitPolicy } from './wait-policy.js';

/** How long a busy queue waits for its batch to fill before serving what it has. */
const BATCH_WAIT_NS = 20_000;
/**
 * Busy-polling (WaitMode.Spin): after a round that reaped something, up to SPIN_ENTERS
 * non-blocking enters for the next completion before sleeping. The next completion may be the
 * submitter's next request (null target at QD1 under TCG: 20 enters caught about half, 50 and
 * more nearly all) or a server's reply (nbd at QD1 against nbdkit under TCG: 64 caught 69 %,
 * 512 caught 99 %; one boot, alternating: 0.54x and 0.52x the kernel's nbd client with 64, 0.72x
 * and 0.80x with 512, QD32 unchanged). A miss costs about 150 µs on bare metal, and SpinPolicy
 * backs off from misses.
 */
const SPIN_ENTERS = 512;
/**
 * The wait policy reads the clock once every this many rounds: Date.now() returns a new heap
 * number (1M calls: 16 scavenges; 0 without), and the policy's 100 ms phases need no finer clock.
 */
const CLOCK_EVERY_ROUNDS = 16;

/**
 * How a queue's loop waits for its next completions, and the counting of it (enters, spins).
 * How to wait is measured (WaitPolicy). Batching: when the last round brought several requests,
 * wait a moment for more of them to arrive together (one wake-up for many) rather than waking
 * for the first. Spinning: after a round that reaped something, catch the next completion
 * without sleeping, while no timed wait is due (SpinPolicy backs off).
 */
export class QueueWaiter {
  // Date.now(): the policy's phases last 100 ms and more, so milliseconds suffice, and it is the
  // cheapest clock there is (0.7 µs in the TCG guest; the global performance.now() costs 3.8).
  private readonly policy = new WaitPolicy(Date.now());
  private readonly spinning = new SpinPolicy();
  private rounds = 0;
  private servedSinceClock = 0;

  constructor(
    private readonly ring: Ring,
    /** The queue's stats counters (QueueCounter), which this adds its enters and spins to. */
    private readonly counters: Float64Array,
    /** IoCommands.batchedByKernel: the queue's commands bring many requests per completion. */
    private readonly batchedByKernel = false,
    /** Placement auto: where the thread runs follows the wait mode; null: it stays. */
    private readonly placement: PlacementByMode | null = null,
  ) {
    placement?.follow(this.policy.mode); // the thread's first place, before its first wait
  }

  /**
   * Submits what the last round prepared and waits for completions. `timeoutNs`: when the loop
   * must run again without one (the target's poll, the queue's own checks), -1 when never;
   * `served` and `reaped`: the requests and CQEs of the last round.
   */
  wait(timeoutNs: number, served: number, reaped: number): void {
    const mode = this.policy.mode;
    const waitFor = served >= 4 && mode === WaitMode.Batch && !this.batchedByKernel ? Math.min(served >> 1, 32) : 1;
    const waitNs = waitFor === 1 ? timeoutNs : timeoutNs < 0 ? BATCH_WAIT_NS : Math.min(timeoutNs, BATCH_WAIT_NS);
    if (mode === WaitMode.Spin && waitNs < 0 && reaped > 0 && this.spinning.shouldSpin()) {
      if (!this.spin()) this.sleep(1, -1);
    } else this.sleep(waitFor, waitNs);
    this.servedSinceClock += served;
    if ((++this.rounds & (CLOCK_EVERY_ROUNDS - 1)) === 0) {
      this.policy.update(Date.now(), this.servedSinceClock);
      this.placement?.follow(this.policy.mode); // the mode changes only here
      this.servedSinceClock = 0;
    }
  }

  /** Busy-polls for a completion; whether one came. */
  private spin(): boolean {
    const counters = this.counters;
    const enters = this.ring.spinForCompletion(SPIN_ENTERS);
    const hit = this.ring.completionsReady() > 0;
    this.spinning.record(hit);
    counters[QueueCounter.Spins] = (counters[QueueCounter.Spins] ?? 0) + 1;
    if (hit) counters[QueueCounter.SpinHits] = (counters[QueueCounter.SpinHits] ?? 0) + 1;
    counters[QueueCounter.Enters] = (counters[QueueCounter.Enters] ?? 0) + enters;
    return hit;
  }

  /** One io_uring_enter that submits what is prepared and waits (see Ring.submitAndWait). */
  private sleep(waitFor: number, waitNs: number): void {
    this.ring.submitAndWait(waitFor, waitNs);
    this.counters[QueueCounter.Enters] = (this.counters[QueueCounter.Enters] ?? 0) + 1;
  }
}
