import type { ZoneGeometry } from './null-zones.js';

/** null_blk's irqmode: when a request the null target served is ended. */
export const IrqMode = {
  /** In queueRq, at once (null_blk's "none"). */
  None: 0,
  /** At the end of its batch, in commitRqs (null_blk's "softirq": after the submitter returns). */
  Batch: 1,
  /** completion_nsec after it arrived, from the queue's timer (null_blk's "timer"). */
  Timer: 2,
} as const;
export type IrqMode = (typeof IrqMode)[keyof typeof IrqMode];

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
  /** 1: a host-managed zoned device (UBLK_F_ZONED), with the zone_* layout below. */
  readonly zoned?: number;
  /** MiB per zone, a power of two (default 256). */
  readonly zoneSize?: number;
  /** Writable MiB of each sequential zone (0: the zone size). */
  readonly zoneCapacity?: number;
  /** How many zones at the start are conventional (no write pointer). */
  readonly zoneNrConv?: number;
  /** Most zones open at once (0: no limit). */
  readonly zoneMaxOpen?: number;
  /** Most zones open or closed at once (0: no limit). */
  readonly zoneMaxActive?: number;
  /** Largest zone append in sectors (0: as large as a request may be). */
  readonly zoneAppendMaxSectors?: number;
  /** 1: every sequential zone starts FULL. */
  readonly zoneFull?: number;
  /** How many sequential zones (the first ones) are READONLY, then how many OFFLINE. */
  readonly zoneReadonly?: number;
  readonly zoneOffline?: number;
  /** Fault injection: this queue's initHctx fails (-1: none). */
  readonly initHctxFail?: number;
  /** Fault injection: percent of requests held until the queue's io_timeout, then ended with ETIMEDOUT. */
  readonly timeoutInject?: number;
  /** Fault injection: percent of requests put back on their queue and served again (below 100). */
  readonly requeueInject?: number;
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
  /** ZoneTable's buffer (null: not zoned). */
  readonly zones: SharedArrayBuffer | null;
  /** With a cache: the durable copy's fd and address. */
  readonly durableFd: number;
  readonly durableAddress: number;
  /** The kernel's request timeout for this disk, in ms (sysfs queue/io_timeout): how long an injected timeout holds a request. */
  readonly ioTimeoutFile: string;
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
  zoned: 0,
  zoneSize: 256,
  zoneCapacity: 0,
  zoneNrConv: 0,
  zoneMaxOpen: 0,
  zoneMaxActive: 0,
  zoneAppendMaxSectors: 0,
  zoneFull: 0,
  zoneReadonly: 0,
  zoneOffline: 0,
  initHctxFail: -1,
  timeoutInject: 0,
  requeueInject: 0,
  power: 1,
} as const;

/** NullConfig with every default filled in: what each queue works from. */
export type NullSettings = Required<Omit<NullConfig, 'runtime'>> & Pick<NullConfig, 'runtime'>;

export function nullSettings(config: NullConfig): NullSettings {
  return { ...NULL_DEFAULTS, ...config };
}

/** The zone layout of a zoned configuration, in sectors; throws a one-line message for a bad one. */
export function zoneGeometryOf(settings: NullSettings): ZoneGeometry {
  const deviceSectors = Math.floor(settings.sizeBytes / 512);
  const zoneSectors = settings.zoneSize * 2048;
  const capacitySectors = (settings.zoneCapacity === 0 ? settings.zoneSize : settings.zoneCapacity) * 2048;
  if (!Number.isInteger(Math.log2(settings.zoneSize)))
    throw new Error(
      `bad --zone_size ${settings.zoneSize}: a zone's size must be a power of two MiB (e.g. 64, 128, 256)`,
    );
  if (zoneSectors > deviceSectors)
    throw new Error(
      `bad --zone_size ${settings.zoneSize}: larger than the device (${settings.sizeBytes / 2 ** 20} MiB); use a smaller zone or a larger --size`,
    );
  if (capacitySectors > zoneSectors)
    throw new Error(`bad --zone_capacity ${settings.zoneCapacity}: more than the zone size (${settings.zoneSize} MiB)`);
  const zones = Math.ceil(deviceSectors / zoneSectors);
  if (settings.zoneNrConv >= zones)
    throw new Error(
      `bad --zone_nr_conv ${settings.zoneNrConv}: the device has ${zones} zone(s) and needs at least one sequential zone; use fewer`,
    );
  const sequential = zones - settings.zoneNrConv;
  if (settings.zoneMaxOpen > sequential || settings.zoneMaxActive > sequential)
    throw new Error(
      `bad --zone_max_open/--zone_max_active: the device has ${sequential} sequential zone(s); use at most that (0: no limit)`,
    );
  if (settings.zoneReadonly + settings.zoneOffline > sequential)
    throw new Error(
      `bad --zone_readonly/--zone_offline: the device has ${sequential} sequential zone(s); use at most that many in all`,
    );
  if (settings.zoneMaxActive > 0 && settings.zoneMaxOpen > settings.zoneMaxActive)
    throw new Error(
      `bad --zone_max_open ${settings.zoneMaxOpen}: more than --zone_max_active ${settings.zoneMaxActive}`,
    );
  return {
    deviceSectors,
    zoneSectors,
    capacitySectors,
    conventional: settings.zoneNrConv,
    zones,
    maxOpen: settings.zoneMaxOpen,
    maxActive: settings.zoneMaxActive,
    full: settings.zoneFull === 1,
    readonly: settings.zoneReadonly,
    offline: settings.zoneOffline,
  };
}
