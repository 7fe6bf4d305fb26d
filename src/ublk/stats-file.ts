import { existsSync, readFileSync } from 'node:fs';
import { type RunRecord, runDir } from './run-file.js';

/**
 * Live per-queue counters in a small shared file, /run/tsublk/<id>.stats: each queue's worker
 * maps it and writes its own slot as it serves (plain stores, no syscalls), and `list -v` or a
 * benchmark maps it read-only from any process. Each slot is SLOT_FIELDS doubles:
 * [io_uring_enter calls, requests received, requests ended, ended with an error, target callbacks
 * that threw, the target's own…].
 */
export const SLOT_FIELDS = 24;
export const QueueCounter = {
  Enters: 0,
  Requests: 1,
  Completed: 2,
  Errors: 3,
  TargetFailures: 4,
  Spins: 5,
  SpinHits: 6,
  TargetBase: 7,
} as const;
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
export const MAX_TARGET_COUNTERS = SLOT_FIELDS - QueueCounter.TargetBase;

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

/** Each queue's live counters, named as QUEUE_COUNTER_NAMES, then the target's own. */
export function readCounters(
  devId: number,
  queues: number,
  record: RunRecord | null,
): Array<Record<string, number>> | null {
  const counters = readStatsFile(devId, queues);
  if (counters === null) return null;
  const names = [...QUEUE_COUNTER_NAMES, ...(record?.statistics ?? [])];
  return Array.from({ length: queues }, (_, q) =>
    Object.fromEntries(names.map((name, i) => [name, counters[q * SLOT_FIELDS + i] ?? 0])),
  );
}
