import { existsSync } from 'node:fs';
import {
  MAP,
  type Mapping,
  O,
  PROT,
  close,
  ftruncate,
  mmap,
  munmap,
  open,
  viewOf,
} from '../../native-bindings/libc.js';
import { SLOT_FIELDS, statsPath } from './stats-file.js';

export { MAX_TARGET_COUNTERS, QUEUE_COUNTER_NAMES, QueueCounter, SLOT_FIELDS, statsPath } from './stats-file.js';

const BYTES_PER_QUEUE = SLOT_FIELDS * 8;

function statsBytes(queues: number): number {
  return Math.max(4096, Math.ceil((queues * BYTES_PER_QUEUE) / 4096) * 4096);
}

/** The daemon's side: creates (or resets) the file; returns its fd for the workers to map. */
export function createStatsFile(devId: number, queues: number): number {
  const fd = open(statsPath(devId), O.RDWR | O.CREAT | O.TRUNC, 0o644);
  ftruncate(fd, statsBytes(queues));
  return fd;
}

/** A mapping of the stats file: a worker's writable slot, or every queue's, read-only. */
export class StatsMapping {
  /** SAFETY: a view of the mapping, valid until unmap(). */
  counters: Float64Array;
  private readonly mapping: Mapping;

  private constructor(fd: number, queues: number, writable: boolean) {
    this.mapping = mmap(
      statsBytes(queues),
      writable ? PROT.READ | PROT.WRITE : PROT.READ,
      MAP.SHARED,
      fd,
      0,
      'tsublk stats',
    );
    this.counters = new Float64Array(viewOf(this.mapping), 0, queues * SLOT_FIELDS);
  }

  /** A worker maps the daemon's fd; its slot is counters[queueId * SLOT_FIELDS …]. */
  static forWorker(fd: number, queues: number): StatsMapping {
    return new StatsMapping(fd, queues, true);
  }

  /** A reader in another process; null when the device has no stats file. */
  static read(devId: number, queues: number): StatsMapping | null {
    if (!existsSync(statsPath(devId))) return null;
    const fd = open(statsPath(devId), O.RDONLY);
    try {
      return new StatsMapping(fd, queues, false);
    } finally {
      close(fd); // the mapping stays valid without the fd
    }
  }

  /** A copy of one queue's counters. */
  queue(queueId: number): number[] {
    return Array.from(this.counters.subarray(queueId * SLOT_FIELDS, (queueId + 1) * SLOT_FIELDS));
  }

  unmap(): void {
    this.counters = new Float64Array(0);
    munmap(this.mapping);
  }
}
