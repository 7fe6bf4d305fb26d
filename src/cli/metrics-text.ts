// The Prometheus text exposition format (version 0.0.4, which OpenMetrics parsers and promtool
// read) of tsublk's per-queue counters: what `stats --prometheus` prints and `metrics` serves.

import type { QueueStats } from '../ublk/stats-file.js';
import { serviceBucketBoundUs } from '../ublk/service-time.js';

/** One device's counters as the stats file holds them, per queue (readCounters' names). */
export interface DeviceCounters {
  readonly devId: number;
  readonly target: string;
  readonly queues: readonly QueueStats[];
}

/** The queue's own counters: exposed name, type, help. */
const QUEUE_FAMILIES: ReadonlyArray<{ counter: string; name: string; help: string }> = [
  { counter: 'requests', name: 'tsublk_requests_total', help: 'Requests the kernel handed to the queue.' },
  { counter: 'completed', name: 'tsublk_completed_total', help: 'Requests the queue handed back to the kernel.' },
  { counter: 'errors', name: 'tsublk_errors_total', help: 'Requests that ended with an error.' },
  {
    counter: 'target_failures',
    name: 'tsublk_target_failures_total',
    help: 'Target callbacks that threw (each is in the device log with its stack).',
  },
  { counter: 'enters', name: 'tsublk_enters_total', help: 'io_uring_enter calls of the queue thread.' },
  { counter: 'spins', name: 'tsublk_spins_total', help: 'Busy-polls of the ring before sleeping.' },
  { counter: 'spin_hits', name: 'tsublk_spin_hits_total', help: 'Busy-polls that found a completion.' },
];
const QUEUE_COUNTERS = new Set(QUEUE_FAMILIES.map((family) => family.counter));

/** A metric name from a target's counter name: [a-zA-Z0-9_] only. */
function targetMetricName(counter: string): string {
  return `tsublk_target_${counter.replace(/[^a-zA-Z0-9_]/g, '_')}`;
}

/** A label value, escaped as the format asks (backslash, quote, newline). */
function labelValue(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** A sample's value: integers as integers, others as JavaScript prints them (both valid floats). */
function sampleValue(value: number): string {
  return Number.isFinite(value) ? String(value) : value > 0 ? '+Inf' : value < 0 ? '-Inf' : 'NaN';
}

/** A queue's labels: device, queue and target. */
function queueLabels(device: DeviceCounters, queue: number): string {
  return `device="${device.devId}",queue="${queue}",target="${labelValue(device.target)}"`;
}

/** A bucket bound in seconds as `le` wants it: 2^k µs, or +Inf. */
function leSeconds(bucket: number): string {
  const us = serviceBucketBoundUs(bucket);
  return us === Infinity ? '+Inf' : String(us / 1e6);
}

/** Each queue's service times as one histogram family (cumulative buckets, sum, count). */
function serviceHistogram(devices: readonly DeviceCounters[]): string[] {
  const name = 'tsublk_service_seconds';
  const samples: string[] = [];
  for (const device of devices)
    device.queues.forEach(({ serviceTimes }, q) => {
      const labels = queueLabels(device, q);
      let cumulative = 0;
      serviceTimes.buckets.forEach((count, k) => {
        cumulative += count;
        samples.push(`${name}_bucket{${labels},le="${leSeconds(k)}"} ${cumulative}`);
      });
      samples.push(`${name}_sum{${labels}} ${sampleValue(serviceTimes.sumUs / 1e6)}`);
      samples.push(`${name}_count{${labels}} ${serviceTimes.count}`);
    });
  if (samples.length === 0) return [];
  return [
    `# HELP ${name} Time from the wake-up that brought a request to the queue's thread to the commit that hands it back.`,
    `# TYPE ${name} histogram`,
    ...samples,
  ];
}

/**
 * Every device's counters, one family at a time (the format wants a family's samples together):
 * the queue's own counters, in_flight (requests not yet handed back), the service time
 * histogram, then each target counter (untyped: a target's counters may be counts or levels).
 */
export function metricsText(devices: readonly DeviceCounters[]): string {
  const lines: string[] = [];
  const family = (
    name: string,
    type: 'counter' | 'gauge' | 'untyped',
    help: string,
    value: (queue: Readonly<Record<string, number>>) => number | undefined,
  ): void => {
    const samples: string[] = [];
    for (const device of devices)
      device.queues.forEach((queue, q) => {
        const v = value(queue.counters);
        if (v !== undefined) samples.push(`${name}{${queueLabels(device, q)}} ${sampleValue(v)}`);
      });
    if (samples.length === 0) return;
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...samples);
  };
  for (const { counter, name, help } of QUEUE_FAMILIES) family(name, 'counter', help, (queue) => queue[counter] ?? 0);
  family('tsublk_in_flight', 'gauge', 'Requests with the target now.', (queue) =>
    Math.max(0, (queue['requests'] ?? 0) - (queue['completed'] ?? 0)),
  );
  lines.push(...serviceHistogram(devices));
  const targetCounters = [
    ...new Set(devices.flatMap((device) => device.queues.flatMap((queue) => Object.keys(queue.counters)))),
  ].filter((counter) => !QUEUE_COUNTERS.has(counter));
  for (const counter of targetCounters)
    family(targetMetricName(counter), 'untyped', `The target's own counter ${counter}.`, (queue) => queue[counter]);
  return lines.length === 0 ? '' : lines.join('\n') + '\n';
}
