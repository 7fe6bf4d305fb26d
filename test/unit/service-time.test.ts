import { describe, expect, it } from 'vitest';
import { monotonicMicroseconds } from '../../native-bindings/libc.js';
import { ServiceRecorder } from '../../src/ublk/service-recorder.js';
import {
  SERVICE_BUCKETS,
  serviceBucket,
  serviceBucketBoundUs,
  serviceQuantileUs,
  serviceSummary,
  serviceTimesJson,
  serviceTimesOf,
} from '../../src/ublk/service-time.js';
import { QueueCounter, SLOT_FIELDS } from '../../src/ublk/stats-file.js';

describe('service time buckets', () => {
  it('puts a time in the bucket whose bound is the first power of two at or above it (µs)', () => {
    expect([0, 0.2, 1].map(serviceBucket)).toEqual([0, 0, 0]);
    expect([1.01, 2].map(serviceBucket)).toEqual([1, 1]);
    expect([2.5, 4].map(serviceBucket)).toEqual([2, 2]);
    expect([4.01, 1000, 1024, 1025].map(serviceBucket)).toEqual([3, 10, 10, 11]);
    expect(serviceBucket(2 ** 22)).toBe(22);
    expect([2 ** 22 + 1, 1e12].map(serviceBucket)).toEqual([SERVICE_BUCKETS - 1, SERVICE_BUCKETS - 1]);
    for (const us of [0.5, 3, 77, 5000, 123456])
      expect(us).toBeLessThanOrEqual(serviceBucketBoundUs(serviceBucket(us)));
    expect(serviceBucketBoundUs(SERVICE_BUCKETS - 1)).toBe(Infinity);
  });

  it('reads the count, sum and percentile bounds from a slot', () => {
    const times = serviceTimesOf([1234, 0, 10, 80, 9, 0, 1]); // 100 requests
    expect(times.count).toBe(100);
    expect(serviceQuantileUs(times, 0.5)).toBe(4);
    expect(serviceQuantileUs(times, 0.99)).toBe(8);
    expect(serviceQuantileUs(times, 0.999)).toBe(32);
    expect(serviceSummary(times)).toEqual({ count: 100, mean_us: 12.3, p50_us: 4, p99_us: 8, p999_us: 32 });
    expect(serviceTimesJson(times)['buckets']).toEqual([
      { le_us: 2, count: 10 },
      { le_us: 4, count: 80 },
      { le_us: 8, count: 9 },
      { le_us: 32, count: 1 },
    ]);
    expect(serviceSummary(serviceTimesOf([]))).toEqual({ count: 0, mean_us: 0, p50_us: 0, p99_us: 0, p999_us: 0 });
  });
});

describe('ServiceRecorder', () => {
  it("times each ended request from its wake to the next record(), into the queue's slot", () => {
    const counters = new Float64Array(SLOT_FIELDS);
    const recorder = new ServiceRecorder(4);
    recorder.woke();
    recorder.arrived(1);
    recorder.arrived(3);
    recorder.ended(3);
    const from = monotonicMicroseconds();
    while (monotonicMicroseconds() - from < 3000); // 3 ms
    recorder.ended(1);
    recorder.record(counters);
    const times = serviceTimesOf(counters.subarray(QueueCounter.ServiceSumUs));
    expect(times.count).toBe(2);
    // Both ended before the same record(): both waited at least the 3 ms, at most the test's run.
    expect(times.sumUs).toBeGreaterThanOrEqual(6000);
    expect(serviceQuantileUs(times, 0.5)).toBeGreaterThanOrEqual(4096);
    recorder.record(counters); // nothing ended since: nothing added
    expect(serviceTimesOf(counters.subarray(QueueCounter.ServiceSumUs)).count).toBe(2);
    // The slot's other fields are not touched.
    expect(counters.subarray(0, QueueCounter.ServiceSumUs).every((value) => value === 0)).toBe(true);
  });
});
