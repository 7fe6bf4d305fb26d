import { monotonicMicroseconds } from '../../native-bindings/libc.js';
import { QueueCounter } from './stats-file.js';
import { serviceBucket } from './service-time.js';

/**
 * Times each request a queue serves into its stats slot's histogram (service-time.ts), with two
 * clock reads per wake-up that brought work, never per request: a request starts at the wake
 * that brought it, and ends when the commit that hands it back is about to be submitted. Both
 * ends are what the request waits for in this thread, batching included.
 */
export class ServiceRecorder {
  /** When each tag's request arrived (µs, monotonic). */
  private readonly startedUs: Float64Array;
  /** Tags ended since the last record(). */
  private readonly endedTags: Uint16Array;
  private endedCount = 0;
  private wakeUs = 0;

  constructor(depth: number) {
    this.startedUs = new Float64Array(depth);
    this.endedTags = new Uint16Array(depth);
  }

  /** The queue woke with completions to handle: the arrival time of the requests they bring. */
  woke(): void {
    this.wakeUs = monotonicMicroseconds();
  }

  /** Request `tag` arrived in this wake. */
  arrived(tag: number): void {
    this.startedUs[tag] = this.wakeUs;
  }

  /** Request `tag` ended; its commit goes out at the next record(). */
  ended(tag: number): void {
    // A tag ends once per arrival, and arrives again only after its commit: depth slots suffice.
    this.endedTags[this.endedCount++] = tag;
  }

  /** The commits are about to be submitted: each ended request's time goes into `counters`' histogram. */
  record(counters: Float64Array): void {
    if (this.endedCount === 0) return;
    const now = monotonicMicroseconds();
    let sum = 0;
    for (let i = 0; i < this.endedCount; i++) {
      const us = now - (this.startedUs[this.endedTags[i] ?? 0] ?? now);
      sum += us;
      const at = QueueCounter.ServiceBuckets + serviceBucket(us);
      counters[at] = (counters[at] ?? 0) + 1;
    }
    counters[QueueCounter.ServiceSumUs] = (counters[QueueCounter.ServiceSumUs] ?? 0) + sum;
    this.endedCount = 0;
  }
}
