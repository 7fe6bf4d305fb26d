import { NULL_DEFAULTS, type NullConfig } from './null.js';

/**
 * The null target's `add` options, each named after the null_blk attribute it mirrors: one table
 * that the CLI registers, `planAdd` validates and the README's attribute table is checked against.
 */
export interface NullOption {
  /** The option, and the null_blk (configfs or module) attribute it mirrors. */
  readonly name: string;
  readonly field: keyof NullConfig;
  readonly describe: string;
  readonly defaultValue: number;
  /** One-line advice when the value is bad. */
  readonly fix: string;
  readonly valid: (value: number) => boolean;
}

const isWhole = (value: number): boolean => Number.isSafeInteger(value);

export const nullOptions: readonly NullOption[] = [
  {
    name: 'irqmode', field: 'irqmode', defaultValue: NULL_DEFAULTS.irqmode,
    describe: 'null: when requests end: 0 at once, 1 after their batch, 2 completion_nsec after arrival',
    fix: 'use --irqmode 0, 1 or 2', valid: (v) => v === 0 || v === 1 || v === 2,
  },
  {
    name: 'completion_nsec', field: 'completionNsec', defaultValue: NULL_DEFAULTS.completionNsec,
    describe: 'null, irqmode 2: nanoseconds from arrival to completion',
    fix: 'use --completion_nsec between 0 and 10000000000 (10 s)', valid: (v) => isWhole(v) && v >= 0 && v <= 10e9,
  },
  {
    name: 'init_hctx_fail', field: 'initHctxFail', defaultValue: NULL_DEFAULTS.initHctxFail,
    describe: "null, fault injection: this queue's initHctx fails (add must fail and leave nothing)",
    fix: 'use --init_hctx_fail with a queue index below -q', valid: (v) => isWhole(v) && v >= -1,
  },
];

/** The null options a user gave (not left at their default), as config fields; throws on a bad value. */
export function nullConfigFrom(values: Readonly<Record<string, number | undefined>>, queues: number): Partial<NullConfig> {
  const config: Record<string, number> = {};
  for (const option of nullOptions) {
    const value = values[option.name];
    if (value === undefined) continue;
    if (!option.valid(value)) throw new Error(`bad --${option.name} ${value}: ${option.fix}`);
    config[option.field] = value;
  }
  if ((config['initHctxFail'] ?? -1) >= queues) throw new Error(`bad --init_hctx_fail ${config['initHctxFail']}: the device has ${queues} queue(s); use an index below -q`);
  return config;
}
