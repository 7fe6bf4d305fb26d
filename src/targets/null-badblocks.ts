import type { SharedMutex } from '../blk/shared-mutex.js';

/** A bad range: 512-byte sectors `start` to `end`, both included (null_blk's "+start-end"). */
export interface BadRange {
  readonly start: number;
  readonly end: number;
}

/** One edit of the list: null_blk's badblocks attribute takes "+start-end" to add, "-start-end" to clear. */
export interface BadblockEdit extends BadRange {
  readonly add: boolean;
}

const EDIT = /^([+-]?)(\d+)-(\d+)$/;

/** Parses "+100-200,-150-160,300-310" (no sign: add); throws a one-line message naming the fix. */
export function parseBadblocks(text: string): BadblockEdit[] {
  if (text.trim() === '') return [];
  return text.split(',').map((item) => {
    const match = EDIT.exec(item.trim());
    const start = Number(match?.[2]);
    const end = Number(match?.[3]);
    if (match === null || !Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end < start) {
      throw new Error(
        `bad --badblocks item '${item}': use +START-END (add) or -START-END (clear), 512-byte sectors, END included, e.g. +2048-2055`,
      );
    }
    return { add: match[1] !== '-', start, end };
  });
}

/** The list as add edits: what the configuration records and `set --badblocks` would rebuild. */
export function formatBadblocks(ranges: readonly BadRange[]): string {
  return ranges.map((range) => `+${range.start}-${range.end}`).join(',');
}

/** Applies edits to a sorted list of disjoint ranges: adding merges, clearing splits. */
export function applyBadblockEdits(ranges: readonly BadRange[], edits: readonly BadblockEdit[]): BadRange[] {
  let list = [...ranges];
  for (const edit of edits) {
    const kept: BadRange[] = [];
    for (const range of list) {
      if (range.end < edit.start || range.start > edit.end) kept.push(range);
      else if (!edit.add) {
        if (range.start < edit.start) kept.push({ start: range.start, end: edit.start - 1 });
        if (range.end > edit.end) kept.push({ start: edit.end + 1, end: range.end });
      } else {
        kept.push({ start: Math.min(range.start, edit.start), end: Math.max(range.end, edit.end) });
      }
    }
    if (edit.add) kept.push({ start: edit.start, end: edit.end });
    kept.sort((a, b) => a.start - b.start);
    // Merge overlapping and touching ranges into one.
    list = [];
    for (const range of kept) {
      const last = list[list.length - 1];
      if (last !== undefined && range.start <= last.end + 1)
        list[list.length - 1] = { start: last.start, end: Math.max(last.end, range.end) };
      else list.push(range);
    }
  }
  return list;
}

/** The most ranges a device keeps (null_blk's badblocks table holds 512 in a page). */
export const MAX_BAD_RANGES = 512;

/**
 * The device's bad ranges, shared by all its queues and the daemon (which changes them for
 * `tsublk set`): `count` in an Int32 slot, the ranges as Float64 pairs, changed under the mutex.
 */
export class BadBlockTable {
  constructor(
    private readonly mutex: SharedMutex,
    /** [countIndex] holds how many ranges there are. */
    private readonly header: Int32Array,
    private readonly countIndex: number,
    /** start, end pairs, sorted by start. */
    private readonly ranges: Float64Array,
    /** Called (without the mutex) when a range healed by itself. */
    private readonly healed: () => void = () => undefined,
  ) {}

  /** Whether any range is bad: one atomic load, all the hot path pays when none is. */
  get empty(): boolean {
    return Atomics.load(this.header, this.countIndex) === 0;
  }

  /**
   * The first bad sector of the request's range [start, start + sectors), or -1 when it has none.
   * `heal` (badblocks_once): the range it hit is cleared, so the next I/O there succeeds.
   */
  check(start: number, sectors: number, heal: boolean): number {
    const last = start + sectors - 1;
    let firstBad = -1;
    this.mutex.lock();
    try {
      const count = this.header[this.countIndex] ?? 0;
      for (let i = 0; i < count; i++) {
        const rangeStart = this.ranges[2 * i] ?? 0;
        const rangeEnd = this.ranges[2 * i + 1] ?? 0;
        if (rangeStart > last) break; // sorted: nothing further can touch the request
        if (rangeEnd < start) continue;
        if (heal) this.removeAt(i, count);
        firstBad = Math.max(rangeStart, start);
        break;
      }
    } finally {
      this.mutex.unlock();
    }
    if (heal && firstBad >= 0) this.healed();
    return firstBad;
  }

  private removeAt(index: number, count: number): void {
    this.ranges.copyWithin(2 * index, 2 * index + 2, 2 * count);
    Atomics.store(this.header, this.countIndex, count - 1);
  }

  list(): BadRange[] {
    this.mutex.lock();
    try {
      const count = this.header[this.countIndex] ?? 0;
      return Array.from({ length: count }, (_, i) => ({
        start: this.ranges[2 * i] ?? 0,
        end: this.ranges[2 * i + 1] ?? 0,
      }));
    } finally {
      this.mutex.unlock();
    }
  }

  /** Applies edits; throws when the list would outgrow the table. */
  edit(edits: readonly BadblockEdit[]): void {
    this.mutex.lock();
    try {
      const count = this.header[this.countIndex] ?? 0;
      const current = Array.from({ length: count }, (_, i) => ({
        start: this.ranges[2 * i] ?? 0,
        end: this.ranges[2 * i + 1] ?? 0,
      }));
      const next = applyBadblockEdits(current, edits);
      if (next.length > MAX_BAD_RANGES)
        throw new Error(
          `bad --badblocks: ${next.length} separate ranges, more than the ${MAX_BAD_RANGES} a device keeps; merge some`,
        );
      next.forEach((range, i) => {
        this.ranges[2 * i] = range.start;
        this.ranges[2 * i + 1] = range.end;
      });
      Atomics.store(this.header, this.countIndex, next.length);
    } finally {
      this.mutex.unlock();
    }
  }
}
