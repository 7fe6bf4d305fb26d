import type { AnyTarget } from '../blk/target.js';
import { MAX_TARGET_COUNTERS, QueueCounter, SLOT_FIELDS, StatsMapping } from './stats.js';

/** A queue's counters: its slot of the device's stats file (private memory without one), zeroed. */
export interface QueueSlot {
  /** The stats file's mapping, which the queue unmaps at teardown; null without a file. */
  readonly stats: StatsMapping | null;
  readonly counters: Float64Array;
  /** The target's part of the slot, which its statistics.read fills. */
  readonly targetCounters: Float64Array;
}

/**
 * Queue `queueId`'s slot of the stats file `statsFd` (-1: none) of a device of `queues` queues.
 * Refuses a target that publishes more counters than a slot holds, before mapping anything.
 */
export function openQueueSlot(statsFd: number, queues: number, queueId: number, target: AnyTarget): QueueSlot {
  const published = target.statistics?.names.length ?? 0;
  if (published > MAX_TARGET_COUNTERS)
    throw new Error(
      `target ${target.name} publishes ${published} counters; a queue's stats slot holds ${MAX_TARGET_COUNTERS}: publish fewer`,
    );
  const stats = statsFd >= 0 ? StatsMapping.forWorker(statsFd, queues) : null;
  const slot = queueId * SLOT_FIELDS;
  const counters = stats === null ? new Float64Array(SLOT_FIELDS) : stats.counters.subarray(slot, slot + SLOT_FIELDS);
  counters.fill(0);
  const targetCounters = counters.subarray(QueueCounter.TargetBase, QueueCounter.TargetBase + MAX_TARGET_COUNTERS);
  return { stats, counters, targetCounters };
}
