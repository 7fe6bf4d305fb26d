import { IrqMode } from './null-completions.js';

/** The null target's configuration: a disk of `sizeBytes` that stores nothing unless memory_backed (null_blk's attributes). */
export interface NullConfig {
  readonly sizeBytes: number;
  readonly logicalBlockSize: number;
  /** When requests end (null_blk's irqmode): 0 at once, 1 after their batch, 2 after completionNsec. */
  readonly irqmode?: IrqMode;
  /** irqmode 2's delay per request (null_blk's completion_nsec; default 10000). */
  readonly completionNsec?: number;
  /** 1: keep the data written, in a /dev/shm backing (the memory target's code). */
  readonly memoryBacked?: number;
  /** 1 (with memoryBacked): discard and write-zeroes punch holes. */
  readonly discard?: number;
  /** MiB of volatile write cache in front of the store (0: none; needs memoryBacked). */
  readonly cacheSize?: number;
  /** 1: the cached device advertises FUA and makes FUA writes durable. */
  readonly fua?: number;
  /** Bandwidth cap in MiB/s (0: none). */
  readonly mbps?: number;
  /** Bad sector ranges, "+START-END,…" (END included). */
  readonly badblocks?: string;
  readonly badblocksOnce?: number;
  readonly badblocksPartialIo?: number;
  readonly rotational?: number;
  /** 1: requests keep page-aligned gaps (a virt boundary of 4 KiB), as DMA engines need. */
  readonly virtBoundary?: number;
  /** Largest request in sectors (0: the per-tag buffer's size). */
  readonly maxSectors?: number;
  /** Fault injection: this queue's initHctx fails (-1: none). */
  readonly initHctxFail?: number;
  /** 1 on, 0 off (null_blk's power; tsublk power changes it). */
  readonly power?: number;
  /** Set by open, for the queues of this process only (never recorded). */
  readonly runtime?: NullRuntime;
}

/** What the daemon's open() acquired, handed to every queue: shared state and the backings' mappings. */
export interface NullRuntime {
  /** NullDeviceState's buffer: power, bandwidth, bad ranges. */
  readonly shared: SharedArrayBuffer;
  /** WriteCache's buffer (null: no cache). */
  readonly cache: SharedArrayBuffer | null;
  /** The store (memory_backed): fd and address of its mapping, -1/0 without. */
  readonly storeFd: number;
  readonly storeAddress: number;
  /** With a cache: the durable copy's fd and address. */
  readonly durableFd: number;
  readonly durableAddress: number;
}

export const NULL_DEFAULTS = {
  irqmode: IrqMode.None,
  completionNsec: 10_000,
  memoryBacked: 0,
  discard: 0,
  cacheSize: 0,
  fua: 1,
  mbps: 0,
  badblocks: '',
  badblocksOnce: 0,
  badblocksPartialIo: 0,
  rotational: 0,
  virtBoundary: 0,
  maxSectors: 0,
  initHctxFail: -1,
  power: 1,
} as const;

/** NullConfig with every default filled in: what each queue works from. */
export type NullSettings = Required<Omit<NullConfig, 'runtime'>> & Pick<NullConfig, 'runtime'>;

export function nullSettings(config: NullConfig): NullSettings {
  return { ...NULL_DEFAULTS, ...config };
}
