import { performance } from 'node:perf_hooks';
import type { Request } from '../blk/request.js';

/**
 * Nanoseconds since an arbitrary start, as a double (no BigInt on the hot path). perf_hooks'
 * `performance`, not the global one: the global is a lazy getter, 4.5x the cost per call (3.8 µs
 * against 0.83 in the TCG guest).
 */
export function nowNs(): number {
  return performance.now() * 1e6;
}

/**
 * Requests served but not yet ended, with their result and when they may end. Lives in a queue's
 * HwData: one per hctx, touched only by that queue's thread. A fixed ring of `depth` slots (no
 * queue holds more requests than its depth), filled in arrival order: with one delay for all,
 * due times only grow, so the head is always the next one due.
 */
export class PendingCompletions {
  private readonly requests: Array<Request<unknown> | undefined>;
  private readonly results: Float64Array;
  private readonly due: Float64Array;
  private head = 0;
  private count = 0;
  /**
   * How late the queue's timed waits end (learned, a moving average): the queue asks to wake
   * this much before a request is due, so that it ends on time rather than a wake-up late.
   */
  private lateWakeNs = 0;
  /** When the wait last asked for should end (-1: none asked). */
  private wakeAt = -1;

  constructor(private readonly capacity: number) {
    this.requests = new Array<Request<unknown> | undefined>(capacity).fill(undefined);
    this.results = new Float64Array(capacity);
    this.due = new Float64Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  /** Holds `rq` until `dueNs` (nowNs() time), to end it then with `result`. */
  add(rq: Request<unknown>, result: number, dueNs: number): void {
    if (this.count === this.capacity)
      throw new Error(`null target: more than ${this.capacity} requests pending on one queue`);
    const slot = (this.head + this.count) % this.capacity;
    this.requests[slot] = rq;
    this.results[slot] = result;
    this.due[slot] = dueNs;
    this.count++;
  }

  /**
   * The poll hook's answer: ends what is due at `now` and returns how long the queue loop may
   * sleep (-1: until the kernel calls, 0: check again at once, as the next request is due
   * sooner than a wake-up takes). Learns from each wait how late wake-ups land.
   */
  nextWait(now: number): number {
    if (this.wakeAt >= 0 && now > this.wakeAt) this.lateWakeNs += (now - this.wakeAt - this.lateWakeNs) / 8;
    this.wakeAt = -1;
    const until = this.endDue(now);
    if (until < 0) return -1;
    const wait = until - this.lateWakeNs;
    // Too soon to sleep: check again at once. Unlearn a little on each such check, or one late
    // wake-up (a busy host) would make the queue spin through every later delay, never sleeping
    // again to measure.
    if (wait <= 0) {
      this.lateWakeNs -= this.lateWakeNs / 64;
      return 0;
    }
    this.wakeAt = now + wait;
    return wait;
  }

  /**
   * Ends every request due by `nowNs` (all of them when it is Infinity); returns how many
   * nanoseconds until the next one is due, or -1 when none is left.
   */
  endDue(now: number): number {
    while (this.count > 0) {
      const slot = this.head;
      const due = this.due[slot] ?? 0;
      if (due > now) return due - now;
      const rq = this.requests[slot];
      this.requests[slot] = undefined;
      this.head = (slot + 1) % this.capacity;
      this.count--;
      rq?.end(this.results[slot] ?? 0);
    }
    return -1;
  }
}

/**
 * Requests put back on their queue (requeue_inject), to be served again from the queue loop's
 * next poll, as blk-mq's requeue list is run again. A fixed ring of `depth` slots, in order.
 */
export class RequeueList {
  private readonly requests: Array<Request<unknown> | undefined>;
  private head = 0;
  private count = 0;

  constructor(private readonly capacity: number) {
    this.requests = new Array<Request<unknown> | undefined>(capacity).fill(undefined);
  }

  get size(): number {
    return this.count;
  }

  add(rq: Request<unknown>): void {
    if (this.count === this.capacity)
      throw new Error(`null target: more than ${this.capacity} requests requeued on one queue`);
    this.requests[(this.head + this.count) % this.capacity] = rq;
    this.count++;
  }

  /** The oldest request, taken off the list (undefined when it is empty). */
  take(): Request<unknown> | undefined {
    if (this.count === 0) return undefined;
    const rq = this.requests[this.head];
    this.requests[this.head] = undefined;
    this.head = (this.head + 1) % this.capacity;
    this.count--;
    return rq;
  }
}
