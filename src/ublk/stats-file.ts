import { existsSync, readFileSync } from 'node:fs';
import { type RunRecord, runDir } from './run-file.js';
import { SERVICE_BUCKETS, type ServiceTimes, serviceTimesOf } from './service-time.js';

/**
 * Live per-queue counters in a small shared file, /run/tsublk/<id>.stats: each queue's worker
 * maps it and writes its own slot as it serves (plain stores, no syscalls), and `list -v` or a
 * benchmark maps it read-only from any process. Each slot is SLOT_FIELDS doubles:
 * [io_uring_enter calls, requests received, requests ended, ended with an error, target callbacks
 * that threw, spins, spin hits, the target's own (MAX_TARGET_COUNTERS), the service times' sum
 * in µs, their histogram's SERVICE_BUCKETS buckets (service-time.ts)].
 */
export const QueueCounter = {
  Enters: 0,
  Requests: 1,
  Completed: 2,
  Errors: 3,
  TargetFailures: 4,
  Spins: 5,
  SpinHits: 6,
  TargetBase: 7,
  ServiceSumUs: 24,
  ServiceBuckets: 25,
} as const;
export const SLOT_FIELDS = QueueCounter.ServiceBuckets + SERVICE_BUCKETS;
/** The queue's own counters by name, in slot order (the target's follow). */
export const QUEUE_COUNTER_NAMES = [
  'enters',
  'requests',
  'completed',
  'errors',
  'target_failures',
  'spins',
  'spin_hits',
] as const;
/** The most counters a target may publish per queue. */
export const MAX_TARGET_COUNTERS = QueueCounter.ServiceSumUs - QueueCounter.TargetBase;

export function statsPath(devId: number): string {
  return `${runDir}/${devId}.stats`;
}

/**
 * A copy of every queue's counters, read with read(2) from any process (no mapping, so no FFI:
 * `stats` and `list -v` start faster); null when the device has no stats file.
 */
export function readStatsFile(devId: number, queues: number): Float64Array | null {
  if (!existsSync(statsPath(devId))) return null;
  let bytes: Buffer;
  try {
    bytes = readFileSync(statsPath(devId));
  } catch {
    return null; // the device went away meanwhile
  }
  const counters = new Float64Array(queues * SLOT_FIELDS);
  new Uint8Array(counters.buffer).set(bytes.subarray(0, Math.min(bytes.length, counters.byteLength)));
  return counters;
}

/** One queue's live counters, named as QUEUE_COUNTER_NAMES then the target's own, and its service times. */
export interface QueueStats {
  readonly counters: Record<string, number>;
  readonly serviceTimes: ServiceTimes;
}

/**
 * Each queue's live counters and service times; null when the device has no stats file. A queue
 * served by several threads (--per_io_tasks: thread t serves queue t % queues) sums their slots:
 * every field is a count or a sum.
 */
export function readCounters(devId: number, queues: number, record: RunRecord | null): QueueStats[] | null {
  // Slot t is thread t's: record.queues[t] (without a record, one thread per queue).
  const threadQueues = record?.queues.map((thread) => thread.queueId) ?? Array.from({ length: queues }, (_, q) => q);
  const slots = readStatsFile(devId, threadQueues.length);
  if (slots === null) return null;
  const names = [...QUEUE_COUNTER_NAMES, ...(record?.statistics ?? [])];
  return Array.from({ length: queues }, (_, q) => {
    const slot = new Float64Array(SLOT_FIELDS);
    threadQueues.forEach((queueId, thread) => {
      if (queueId !== q) return;
      slots
        .subarray(thread * SLOT_FIELDS, (thread + 1) * SLOT_FIELDS)
        .forEach((value, i) => (slot[i] = (slot[i] ?? 0) + value));
    });
    return {
      counters: Object.fromEntries(names.map((name, i) => [name, slot[i] ?? 0])),
      serviceTimes: serviceTimesOf(slot.subarray(QueueCounter.ServiceSumUs)),
    };
  });
}
