import { UBLK_F } from '../../native-bindings/ublk_cmd.js';
import type { CommonSettings, OptionValues, TargetPlan, TargetPlanner } from '../blk/target-plan.js';
import { parseBadblocks } from './null-badblocks.js';
import { NULL_DEFAULTS, type NullConfig } from './null-config.js';

/**
 * The null target's `add` options, each named after the null_blk attribute it mirrors: one table
 * that the CLI registers, `planAdd` and `tsublk set` validate, and the README's attribute table
 * is checked against.
 */
export interface NullOption {
  /** The option, and the null_blk (configfs or module) attribute it mirrors. */
  readonly name: string;
  readonly field: keyof NullConfig;
  readonly kind: 'number' | 'string';
  readonly describe: string;
  readonly defaultValue: number | string;
  /** One-line advice when the value is bad. */
  readonly fix: string;
  readonly valid: (value: number | string) => boolean;
  /** `tsublk set` changes it on a running device (as null_blk's configfs does while powered). */
  readonly settable: boolean;
}

const isWhole = (value: number | string): boolean => typeof value === 'number' && Number.isSafeInteger(value);
const isFlag = (value: number | string): boolean => value === 0 || value === 1;
const flag = (name: string, field: keyof NullConfig, describe: string, settable = false): NullOption => ({
  name,
  field,
  kind: 'number',
  defaultValue: NULL_DEFAULTS[field as keyof typeof NULL_DEFAULTS],
  describe,
  fix: `use --${name} 0 or 1`,
  valid: isFlag,
  settable,
});

export const nullOptions: readonly NullOption[] = [
  {
    name: 'irqmode',
    field: 'irqmode',
    kind: 'number',
    defaultValue: NULL_DEFAULTS.irqmode,
    settable: false,
    describe: 'null: when requests end: 0 at once, 1 after their batch, 2 completion_nsec after arrival',
    fix: 'use --irqmode 0, 1 or 2',
    valid: (v) => v === 0 || v === 1 || v === 2,
  },
  {
    name: 'completion_nsec',
    field: 'completionNsec',
    kind: 'number',
    defaultValue: NULL_DEFAULTS.completionNsec,
    settable: false,
    describe: 'null, irqmode 2: nanoseconds from arrival to completion',
    fix: 'use --completion_nsec between 0 and 10000000000 (10 s)',
    valid: (v) => isWhole(v) && (v as number) >= 0 && (v as number) <= 10e9,
  },
  flag('memory_backed', 'memoryBacked', 'null: store the data written (in /dev/shm, like the memory target)'),
  flag(
    'discard',
    'discard',
    'null, memory_backed: accept discard and write-zeroes (the range reads zeros, its memory is freed)',
  ),
  {
    name: 'cache_size',
    field: 'cacheSize',
    kind: 'number',
    defaultValue: NULL_DEFAULTS.cacheSize,
    settable: false,
    describe:
      'null, memory_backed: a volatile write cache of this many MiB (FLUSH and FUA make writes durable; tsublk power off loses the rest)',
    fix: 'use --cache_size in MiB, 0 (none) to 65536',
    valid: (v) => isWhole(v) && (v as number) >= 0 && (v as number) <= 65536,
  },
  flag('fua', 'fua', 'null, cache_size: honour forced unit access (0: the kernel sends a FLUSH instead)'),
  {
    name: 'mbps',
    field: 'mbps',
    kind: 'number',
    defaultValue: NULL_DEFAULTS.mbps,
    settable: true,
    describe: "null: cap the device's bandwidth at this many MiB/s (0: none)",
    fix: 'use --mbps with a whole number of MiB/s, 0 (no cap) to 1000000',
    valid: (v) => isWhole(v) && (v as number) >= 0 && (v as number) <= 1e6,
  },
  {
    name: 'badblocks',
    field: 'badblocks',
    kind: 'string',
    defaultValue: NULL_DEFAULTS.badblocks,
    settable: true,
    describe:
      'null: sector ranges that fail with EIO: +START-END adds, -START-END clears (write --badblocks=-START-END), comma-separated, END included',
    fix: 'use --badblocks +START-END[,…] in 512-byte sectors',
    // A bad list throws parseBadblocks' own message, which names the item at fault.
    valid: (v) => {
      parseBadblocks(String(v));
      return true;
    },
  },
  flag('badblocks_once', 'badblocksOnce', 'null: a bad range heals after its first failure', true),
  flag(
    'badblocks_partial_io',
    'badblocksPartialIo',
    'null: a request hitting a bad range does the part before it, then fails',
    true,
  ),
  flag('rotational', 'rotational', 'null: report a rotational disk (queue/rotational 1)'),
  flag(
    'virt_boundary',
    'virtBoundary',
    'null: a 4 KiB virt boundary: no gap inside a request crosses a page (queue/virt_boundary_mask 4095)',
  ),
  {
    name: 'max_sectors',
    field: 'maxSectors',
    kind: 'number',
    defaultValue: NULL_DEFAULTS.maxSectors,
    settable: false,
    describe: 'null: largest request in 512-byte sectors (0: what --max_io_buf_bytes allows)',
    fix: 'use --max_sectors 0, or 8 or more',
    valid: (v) => isWhole(v) && (v === 0 || (v as number) >= 8),
  },
  flag('zoned', 'zoned', 'null: a host-managed zoned device (UBLK_F_ZONED, Linux 6.6+; needs the user copy data path)'),
  {
    name: 'zone_size',
    field: 'zoneSize',
    kind: 'number',
    defaultValue: NULL_DEFAULTS.zoneSize,
    settable: false,
    describe: 'null, zoned: MiB per zone (a power of two)',
    fix: 'use --zone_size with a power of two MiB',
    valid: (v) => isWhole(v) && (v as number) >= 1 && Number.isInteger(Math.log2(v as number)),
  },
  {
    name: 'zone_capacity',
    field: 'zoneCapacity',
    kind: 'number',
    defaultValue: NULL_DEFAULTS.zoneCapacity,
    settable: false,
    describe: 'null, zoned: writable MiB of each sequential zone (0: the zone size)',
    fix: 'use --zone_capacity in MiB, 0 to the zone size',
    valid: (v) => isWhole(v) && (v as number) >= 0,
  },
  {
    name: 'zone_nr_conv',
    field: 'zoneNrConv',
    kind: 'number',
    defaultValue: NULL_DEFAULTS.zoneNrConv,
    settable: false,
    describe: 'null, zoned: conventional zones at the start',
    fix: 'use --zone_nr_conv 0 or more',
    valid: (v) => isWhole(v) && (v as number) >= 0,
  },
  {
    name: 'zone_max_open',
    field: 'zoneMaxOpen',
    kind: 'number',
    defaultValue: NULL_DEFAULTS.zoneMaxOpen,
    settable: false,
    describe: 'null, zoned: most zones open at once (0: no limit)',
    fix: 'use --zone_max_open 0 or more',
    valid: (v) => isWhole(v) && (v as number) >= 0,
  },
  {
    name: 'zone_max_active',
    field: 'zoneMaxActive',
    kind: 'number',
    defaultValue: NULL_DEFAULTS.zoneMaxActive,
    settable: false,
    describe: 'null, zoned: most zones open or closed at once (0: no limit)',
    fix: 'use --zone_max_active 0 or more',
    valid: (v) => isWhole(v) && (v as number) >= 0,
  },
  {
    name: 'zone_append_max_sectors',
    field: 'zoneAppendMaxSectors',
    kind: 'number',
    defaultValue: NULL_DEFAULTS.zoneAppendMaxSectors,
    settable: false,
    describe: 'null, zoned: largest zone append in sectors (0: as large as a request)',
    fix: 'use --zone_append_max_sectors 0, or 8 or more',
    valid: (v) => isWhole(v) && (v === 0 || (v as number) >= 8),
  },
  flag('zone_full', 'zoneFull', 'null, zoned: every sequential zone starts full'),
  {
    name: 'zone_readonly',
    field: 'zoneReadonly',
    kind: 'number',
    defaultValue: NULL_DEFAULTS.zoneReadonly,
    settable: false,
    describe: 'null, zoned: the first N sequential zones are read-only',
    fix: 'use --zone_readonly 0 or more',
    valid: (v) => isWhole(v) && (v as number) >= 0,
  },
  {
    name: 'zone_offline',
    field: 'zoneOffline',
    kind: 'number',
    defaultValue: NULL_DEFAULTS.zoneOffline,
    settable: false,
    describe: 'null, zoned: the N sequential zones after the read-only ones are offline',
    fix: 'use --zone_offline 0 or more',
    valid: (v) => isWhole(v) && (v as number) >= 0,
  },
  {
    name: 'init_hctx_fail',
    field: 'initHctxFail',
    kind: 'number',
    defaultValue: NULL_DEFAULTS.initHctxFail,
    settable: false,
    describe: "null, fault injection: this queue's initHctx fails (add must fail and leave nothing)",
    fix: 'use --init_hctx_fail with a queue index below -q',
    valid: (v) => isWhole(v) && (v as number) >= -1,
  },
  {
    name: 'timeout_inject',
    field: 'timeoutInject',
    kind: 'number',
    defaultValue: NULL_DEFAULTS.timeoutInject,
    settable: true,
    describe:
      "null, fault injection: percent of requests never served: each is held for the disk's queue/io_timeout, then fails with ETIMEDOUT",
    fix: 'use --timeout_inject with a whole percent, 0 to 100',
    valid: (v) => isWhole(v) && (v as number) >= 0 && (v as number) <= 100,
  },
  {
    name: 'requeue_inject',
    field: 'requeueInject',
    kind: 'number',
    defaultValue: NULL_DEFAULTS.requeueInject,
    settable: true,
    describe: 'null, fault injection: percent of requests put back on their queue and served again',
    fix: 'use --requeue_inject with a whole percent, 0 to 99 (100 would requeue every request forever)',
    valid: (v) => isWhole(v) && (v as number) >= 0 && (v as number) <= 99,
  },
];

/** Checks one value against its option; throws the option's one-line advice (badblocks: the item at fault). */
function checked(option: NullOption, raw: number | string): number | string {
  const value = option.kind === 'string' ? String(raw) : Number(raw);
  if (!option.valid(value)) throw new Error(`bad --${option.name} ${raw}: ${option.fix}`);
  return value;
}

/** The null options a user gave (not left at their default), as config fields; throws on a bad value. */
export function nullConfigFrom(
  values: Readonly<Record<string, number | string | undefined>>,
  queues: number,
): Partial<NullConfig> {
  const config: Record<string, number | string> = {};
  for (const option of nullOptions) {
    const value = values[option.name];
    if (value === undefined) continue;
    config[option.field] = checked(option, value);
  }
  const memoryBacked = config['memoryBacked'] === 1;
  if (Number(config['initHctxFail'] ?? -1) >= queues)
    throw new Error(
      `bad --init_hctx_fail ${config['initHctxFail']}: the device has ${queues} queue(s); use an index below -q`,
    );
  if (config['discard'] === 1 && !memoryBacked)
    throw new Error('--discard 1 needs --memory_backed 1: a null device that stores nothing has nothing to discard');
  if ((config['cacheSize'] ?? 0) !== 0 && !memoryBacked)
    throw new Error(
      '--cache_size needs --memory_backed 1: the cache holds written data, which only a memory-backed device keeps',
    );
  if (config['zoned'] !== 1) {
    const zoneOption = nullOptions.find(
      (option) => option.name.startsWith('zone_') && config[option.field] !== undefined,
    );
    if (zoneOption !== undefined) throw new Error(`--${zoneOption.name} needs --zoned 1`);
  }
  return config;
}

/** `tsublk set`'s changes, as config fields: only settable options; throws on a bad or fixed one. */
export function nullChangeFrom(values: Readonly<Record<string, number | string | undefined>>): Partial<NullConfig> {
  const change: Record<string, number | string> = {};
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined) continue;
    const option = nullOptions.find((candidate) => candidate.name === name);
    if (option === undefined) throw new Error(`--${name} is not a null target setting: see tsublk set --help`);
    if (!option.settable)
      throw new Error(`--${name} cannot change on a running device: delete it and add it again with the new --${name}`);
    change[option.field] = checked(option, value);
  }
  return change;
}

/** The size of a null device left without --size: null_blk's default. */
const NULL_DEFAULT_SIZE = 250 * 2 ** 30;

/** The null target's plan: its null_blk options, checked against each other and the device's settings. */
function planNull(values: OptionValues, common: CommonSettings): TargetPlan {
  const config = nullConfigFrom(values as Readonly<Record<string, number | string>>, common.queues);
  const maxSectors = Number(config.maxSectors ?? 0);
  if (maxSectors * 512 > common.maxIoBufBytes)
    throw new Error(
      `bad --max_sectors ${maxSectors}: requests of ${maxSectors * 512} bytes need --max_io_buf_bytes ${maxSectors * 512} or more (it is ${common.maxIoBufBytes})`,
    );
  if (maxSectors > 0 && maxSectors * 512 < common.logicalBlockSize)
    throw new Error(
      `bad --max_sectors ${maxSectors}: a request must hold one block; use at least ${common.logicalBlockSize / 512}`,
    );
  if (Number(config.cacheSize ?? 0) > 0 && common.recovery) {
    throw new Error(
      '--cache_size and -r/-e/-i exclude each other: the write cache lives in the daemon and dies with it, so the device could not be recovered',
    );
  }
  if (common.unprivileged && Number(config.timeoutInject ?? 0) > 0)
    throw new Error(
      "--timeout_inject needs a privileged device: ublk_drv kills an unprivileged device's daemon when a request times out; leave it out or run as root",
    );
  const base = {
    sizeBytes: common.sizeBytes ?? NULL_DEFAULT_SIZE,
    logicalBlockSize: common.logicalBlockSize,
    ...config,
  };
  // A zoned device reports its zones through user copy: the kernel refuses UBLK_F_ZONED without it.
  if (config.zoned !== 1) return { config: base };
  if (common.dataPath === 'copy')
    throw new Error(
      '--zoned 1 needs the user copy data path (UBLK_F_USER_COPY): leave out --copy, -g 1 and --unprivileged',
    );
  return { config: base, flags: UBLK_F.ZONED | UBLK_F.USER_COPY, dataPath: 'usercopy' };
}

/** The null target's options and plan, for the CLI (nothing here loads target code). */
export const nullPlanner: TargetPlanner = {
  name: 'null',
  heading: 'null target (options named after null_blk attributes):',
  requests: UBLK_F.ZONED | UBLK_F.USER_COPY,
  options: nullOptions.map((option) => ({
    name: option.name,
    kind: option.kind,
    describe: option.describe,
    defaultValue: option.defaultValue,
    fix: option.fix,
    valid: (value) => option.valid(value as number | string),
    settable: option.settable,
  })),
  plan: planNull,
};
