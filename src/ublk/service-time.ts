// Each queue's service times (from the wake that brought a request to the queue's thread to the
// commit that hands it back), as a histogram in fixed log2 buckets of microseconds: what the
// queue keeps in its stats slot and what `stats`, `list -v` and the metrics read. No FFI here:
// readers in other processes load this file.

/** Buckets per queue: k = 0 … 22 count times up to 2^k µs (1 µs … 4.2 s), the last counts the rest. */
export const SERVICE_BUCKETS = 24;
const LAST_BOUNDED = SERVICE_BUCKETS - 2;

/** The bucket of a service time: k holds (2^(k-1), 2^k] µs, 0 holds [0, 1], the last what is above 2^22. */
export function serviceBucket(us: number): number {
  const whole = Math.ceil(us) - 1; // (2^(k-1), 2^k] becomes [2^(k-1), 2^k - 1]: numbers of k bits
  if (whole <= 0) return 0;
  if (whole >= 2 ** LAST_BOUNDED) return SERVICE_BUCKETS - 1;
  return 32 - Math.clz32(whole);
}

/** A bucket's upper bound in µs (Infinity for the last). */
export function serviceBucketBoundUs(bucket: number): number {
  return bucket >= SERVICE_BUCKETS - 1 ? Infinity : 2 ** bucket;
}

/** One queue's service times as read from its slot. */
export interface ServiceTimes {
  /** Requests timed: each one the queue handed back. */
  readonly count: number;
  readonly sumUs: number;
  /** Requests per bucket (not cumulative), SERVICE_BUCKETS of them. */
  readonly buckets: readonly number[];
}

/** The histogram from its slot fields: [sum µs, bucket 0, …, bucket SERVICE_BUCKETS - 1]. */
export function serviceTimesOf(fields: ArrayLike<number>): ServiceTimes {
  const buckets = Array.from({ length: SERVICE_BUCKETS }, (_, k) => fields[1 + k] ?? 0);
  return { count: buckets.reduce((sum, n) => sum + n, 0), sumUs: fields[0] ?? 0, buckets };
}

/** The upper bound (µs) of the bucket that holds quantile q (0 < q ≤ 1); 0 when nothing was timed. */
export function serviceQuantileUs(times: ServiceTimes, q: number): number {
  if (times.count === 0) return 0;
  const rank = Math.ceil(q * times.count);
  let seen = 0;
  for (let k = 0; k < times.buckets.length; k++) {
    seen += times.buckets[k] ?? 0;
    if (seen >= rank) return serviceBucketBoundUs(k);
  }
  return Infinity;
}

/** The summary `stats` and `list -v` print: count, mean and the p50/p99/p99.9 bucket bounds (µs). */
export function serviceSummary(times: ServiceTimes): Record<string, number> {
  return {
    count: times.count,
    mean_us: times.count === 0 ? 0 : Math.round((times.sumUs / times.count) * 10) / 10,
    p50_us: serviceQuantileUs(times, 0.5),
    p99_us: serviceQuantileUs(times, 0.99),
    p999_us: serviceQuantileUs(times, 0.999),
  };
}

/** The JSON form (`stats --json`, `list --json`): the summary, the sum and each non-empty bucket (le_us null: above 2^22). */
export function serviceTimesJson(times: ServiceTimes): Record<string, unknown> {
  return {
    ...serviceSummary(times),
    sum_us: Math.round(times.sumUs),
    buckets: times.buckets.flatMap((count, k) => {
      const bound = serviceBucketBoundUs(k);
      return count === 0 ? [] : [{ le_us: bound === Infinity ? null : bound, count }];
    }),
  };
}
