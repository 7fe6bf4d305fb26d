import type { DiskParameters } from './disk.js';
import type { Operations } from './operations.js';
import type { CommonSettings, OptionValues, TargetOption, TargetPlan } from './target-plan.js';

/**
 * A target: what serves a device's I/O. Its configuration is plain data (it crosses to every
 * queue's worker thread and into /run/tsublk/<id>.json); each worker rebuilds the target's
 * tag-set and queue data from it and runs `operations` for its own queue.
 */
/** What a target acquired for a device in the daemon (a backing store): see `Target.open`. */
export interface OpenedTarget<Config> {
  /** The configuration completed (resolved paths, sizes, addresses), as the queues receive it. */
  readonly config: Config;
  /** Files the device owns: `del` removes them, even when the daemon died. */
  readonly ownedFiles: readonly string[];
  /** Releases it all; `deleted`: the device is gone for good, so owned files go too. */
  close(deleted: boolean): void;
  /**
   * Changes settings of the running device (`tsublk set`, `tsublk power`: option names as `add`
   * takes them, `power` 0 or 1), in the daemon; returns the configuration as it now stands, to be
   * recorded. Throws a one-line error for a bad or unchangeable setting, changing nothing.
   */
  change?(values: Readonly<Record<string, number | string>>): Config;
  /**
   * Calls `listener` with the configuration whenever it changes by itself (a bad range that heals
   * after its first failure), so the record and `list -v` stay true; close() stops it.
   */
  watch?(listener: (config: Config) => void): void;
  /**
   * `tsublk resize`: makes what backs the disk `sizeBytes` long (a whole number of logical
   * blocks), in the daemon, before the kernel's capacity changes; returns the configuration as it
   * now stands, to be recorded. Data below the smaller of the two sizes is kept. A shrink that
   * would destroy data the target cannot give back is refused unless `truncate`. Throws a
   * one-line error for a size it cannot take, changing nothing. Absent: the target cannot be resized.
   */
  resize?(sizeBytes: number, truncate: boolean): Config;
}

/** The queues the kernel gave the device (it may give fewer than asked: at most one per CPU). */
export interface DeviceShape {
  readonly queues: number;
  readonly depth: number;
}

export interface Target<Config, TagSetData, QueueData, HwData, RequestData> {
  readonly name: string;
  /** A number for `list`'s target line (ublksrv's: null 0, memory 1). */
  readonly type: number;
  /**
   * Runs once per device in the daemon, after the kernel gave it its id and before any queue:
   * acquires what all queues share (a memory target's backing) and completes the configuration.
   * Everything in it must be plain data (numbers for addresses and fds: the queues are threads
   * of the same process). Throws a one-line error for bad input. `reattach`: the device's daemon
   * died and this one recovers it; `config` is the completed configuration the dead one had
   * (from its record), and whatever it names must be found again as it was, not made anew.
   * `shape`: the queues the kernel gave the device.
   */
  open?(config: Config, devId: number, reattach: boolean, shape: DeviceShape): OpenedTarget<Config>;
  /** The disk the configuration describes. */
  disk(config: Config): DiskParameters;
  /** Built in each queue's worker from the configuration. */
  tagSetData(config: Config): TagSetData;
  queueData(config: Config): QueueData;
  readonly operations: Operations<TagSetData, QueueData, HwData, RequestData>;
  /**
   * Counters the target keeps in its HwData, published live for `stats` and `list -v`: their
   * names, and a function that copies them into `out` (called after every batch: it must not
   * allocate). Name the slots with a `counterTable` (blk/counters.ts): `out[at.reads] = hw.reads`.
   */
  readonly statistics?: {
    readonly names: readonly string[];
    readonly read: (hwData: HwData, out: Float64Array) => void;
  };
  /**
   * A module target's own `add` options (built-in targets declare theirs in a planner the CLI
   * loads without their code): they appear in `tsublk add -t ./x.js --help`, are checked against
   * the table, and reach `plan`.
   */
  readonly options?: readonly TargetOption[];
  /** Turns the given options into the configuration (default: size, block size and the values as given). */
  plan?(values: OptionValues, common: CommonSettings): TargetPlan;
}

/** A target whose types are not known statically (the registry's view of them all). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyTarget = Target<any, any, any, any, any>;
