/** Rounds a queue that kept missing goes without spinning, at most (doubling from 1). */
const MAX_BACKOFF_ROUNDS = 64;

/**
 * Whether a queue in WaitMode.Spin busy-polls its ring before it sleeps, this round. At queue
 * depth 1 the next request arrives microseconds after the commit (the submitter's turnaround);
 * catching it without sleeping saves the thread's sleep and wake-up, which cost more than the
 * spin (TCG 6.12, one queue, null target, randread QD1: 2,700 -> 11,000 IOPS and 200 -> 85 µs
 * of server CPU per I/O). Where spins miss, they are wasted: each miss doubles the rounds that
 * go without spinning (up to MAX_BACKOFF_ROUNDS), and a hit resets it. An idle device spins
 * once after its last request and then sleeps: rounds, not time, count the back-off.
 */
export class SpinPolicy {
  private skipRounds = 0;
  private backoff = 1;

  /** Called once per round that may spin; false while backing off from misses. */
  shouldSpin(): boolean {
    if (this.skipRounds === 0) return true;
    this.skipRounds--;
    return false;
  }

  /** What the spin found: a completion (hit) or nothing before its budget ran out (miss). */
  record(hit: boolean): void {
    if (hit) {
      this.backoff = 1;
      return;
    }
    this.skipRounds = this.backoff;
    this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_ROUNDS);
  }
}
