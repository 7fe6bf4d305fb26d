/**
 * How a target takes options and turns them into its configuration: one table per target, which
 * the CLI registers (so each target gets its own `add -t NAME --help`), validates, and hands to
 * the target's `plan`. A built-in target keeps this in a module of its own that loads no FFI, so
 * `add` checks options without loading target code; a module target (`-t ./x.js`) puts `options`
 * and `plan` on its default export.
 */
export interface TargetOption {
  /** The long option, --name (the C utility's or null_blk's spelling where one exists). */
  readonly name: string;
  /** A one-letter alias (-f for --file). */
  readonly alias?: string;
  readonly kind: 'number' | 'string' | 'boolean';
  /** One line for the help. */
  readonly describe: string;
  /** What the target uses when the option is left out (shown in the help; the target applies it). */
  readonly defaultValue?: number | string | boolean;
  /** Whether a value is good; a bad one is refused with `fix`. */
  readonly valid?: (value: number | string | boolean) => boolean;
  /** One-line advice when the value is bad. */
  readonly fix?: string;
  /** `tsublk set` may change it on a running device. */
  readonly settable?: boolean;
}

/** The options given to a target, by name, checked against its table: absent when not given. */
export type OptionValues = Readonly<Record<string, number | string | boolean>>;

/** The device-wide settings of `add` that a target's plan may read. */
export interface CommonSettings {
  /** --size in bytes, or null when it was left out (the target picks: a default, or its backing's). */
  readonly sizeBytes: number | null;
  readonly logicalBlockSize: number;
  /** Whether --bs was given (a target may follow its backing's block size otherwise). */
  readonly logicalBlockSizeGiven: boolean;
  readonly queues: number;
  /** Whether -q was given: a plan may pick the count otherwise (TargetPlan.queues). */
  readonly queuesGiven: boolean;
  readonly depth: number;
  readonly maxIoBufBytes: number;
  readonly unprivileged: boolean;
  /** -r, -e or -i: the device outlives its daemon. */
  readonly recovery: boolean;
  /** The data path asked for (--usercopy, --copy, -g 1 or --unprivileged; -z: zero copy), or auto. */
  readonly dataPath: 'auto' | 'usercopy' | 'copy' | 'zerocopy';
}

/** The target's configuration for the daemon, and what it needs from the kernel. */
export interface TargetPlan {
  /** Plain data for the daemon and every queue; it is recorded as it is. */
  readonly config: {
    readonly sizeBytes: number;
    readonly logicalBlockSize: number;
    readonly [setting: string]: unknown;
  };
  /** UBLK_F_* bits the target needs (zoned: ZONED and USER_COPY). */
  readonly flags?: number;
  /** The queue count when -q is left out (absent: tsublk's default, 2). */
  readonly queues?: number;
  /** The data path the target must have; absent: either (the default picks). */
  readonly dataPath?: 'usercopy' | 'copy';
  /**
   * The target touches request data only through QueueIo (the *Request calls, copyToRequest,
   * copyFromRequest) when QueueIo.zeroCopy says so (never `rq.buffer` then), so zero copy
   * (UBLK_F_AUTO_BUF_REG) can serve it instead of `dataPath`: -z, and the default where offered.
   */
  readonly zeroCopy?: boolean;
  /** Where its queue threads run unless --placement says (src/ublk/placement.ts); absent: beside. */
  readonly placement?: 'beside' | 'submitters' | 'auto';
}

/** A target's options and plan. */
export interface TargetPlanner {
  readonly name: string;
  /** The heading of its options in the help. */
  readonly heading: string;
  readonly options: readonly TargetOption[];
  /**
   * Every UBLK_F_* bit `plan` may ask for (null: ZONED and USER_COPY): `tsublk features` shows
   * what tsublk uses from these, and a plan that asks for more is refused as a bug.
   */
  readonly requests?: number;
  /**
   * Why one queue cannot be served by several threads (--per_io_tasks), when it cannot: each
   * thread gets its own initHctx and HwData, so a target whose queues share one thing per queue
   * (nbd: a connection) says so here; absent, a queue's share is an hctx of its own.
   */
  readonly onePerQueue?: string;
  /** Turns checked option values into the configuration; throws a one-line error for a bad mix. */
  plan(values: OptionValues, common: CommonSettings): TargetPlan;
}

/** A value checked against its option: converted to its kind, or the option's one-line advice. */
export function checkOptionValue(option: TargetOption, raw: number | string | boolean): number | string | boolean {
  const value =
    option.kind === 'string'
      ? String(raw)
      : option.kind === 'number'
        ? Number(raw)
        : raw === true || raw === 'true' || raw === 1;
  if ((option.kind === 'number' && Number.isNaN(value)) || (option.valid !== undefined && !option.valid(value))) {
    throw new Error(`bad --${option.name} ${String(raw)}: ${option.fix ?? 'see tsublk add --help'}`);
  }
  return value;
}
