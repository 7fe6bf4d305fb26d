import { QUEUE_PLACEMENTS, type QueuePlacement } from '../ublk/placement.js';
import { UBLK_F, UBLK_MAX_NR_QUEUES, UBLK_MAX_QUEUE_DEPTH } from '../../native-bindings/ublk_cmd.js';
import {
  type CommonSettings,
  type OptionValues,
  type TargetPlan,
  type TargetPlanner,
  checkOptionValue,
} from '../blk/target-plan.js';
import {
  builtinPlanner,
  builtinPlanners,
  loadModuleTarget,
  modulePlanner,
  resolveTargetName,
} from '../targets/registry.js';
import { validLogicalBlockSizes } from '../blk/disk.js';
import { UblkError } from '../ublk/errors.js';
import { ZERO_COPY_FLAGS, flagsCommandsUse } from '../ublk/features.js';
import { parseSize } from './sizes.js';
import { LOG_LEVELS, type LogLevel } from '../ublk/device-log.js';
import { wholeNumberIn } from './whole-number.js';
import { planThreads } from './plan-threads.js';

/** A validated `add`: plain data, handed from the CLI to the daemon it starts. */
export interface AddPlan {
  /** -1: the kernel picks. */
  readonly devId: number;
  readonly queues: number;
  /**
   * Threads serving the queues: one per queue, or (--per_io_tasks, UBLK_F_PER_IO_DAEMON) a
   * multiple of them, thread t serving share t / queues of queue t % queues (plan-threads.ts).
   */
  readonly threads: number;
  readonly depth: number;
  readonly maxIoBufBytes: number;
  /** UBLK_F_* to ask the kernel for. */
  readonly flags: number;
  readonly target: string;
  /** The target's plan's configuration (sizeBytes 0: its backing's size, found when the daemon opens it). */
  readonly targetConfig: TargetPlan['config'];
  readonly placement: QueuePlacement;
  /**
   * How request data moves: `usercopy` (UBLK_F_USER_COPY), `copy` (per-tag buffers), `zerocopy`
   * (UBLK_F_AUTO_BUF_REG), or decided by the daemon, which asks the running kernel: `auto`, user
   * copy where offered, else copy; `zerocopy-or-copy` (a target that can take zero copy, with no
   * data path asked for), zero copy where offered, else copy.
   */
  readonly dataPath: 'auto' | 'usercopy' | 'copy' | 'zerocopy' | 'zerocopy-or-copy';
  /** What the device's log keeps. */
  readonly logLevel: LogLevel;
}

/** `add`'s options as yargs hands them over. */
export interface AddArguments {
  readonly type: string;
  readonly number: number;
  readonly queues: number;
  readonly depth: number;
  /** Absent: the target's default (null: 250GiB like null_blk; memory: the --backing file's size). */
  readonly size?: string | undefined;
  readonly bs: number;
  /** Whether --bs was given, not defaulted (a target may follow its backing's block size). */
  readonly bsGiven?: boolean;
  /** Whether -q was given (a target may pick the count otherwise). */
  readonly queuesGiven?: boolean;
  readonly u: number;
  readonly g: number;
  readonly r: number;
  readonly e: number;
  readonly i: number;
  /** -z: zero copy (AUTO_BUF_REG). */
  readonly auto_zc: boolean;
  /** -b: batch I/O (UBLK_F_BATCH_IO). */
  readonly 'batch-io': boolean;
  /** --nthreads: absent, one thread per queue. */
  readonly nthreads?: number | undefined;
  /** --per_io_tasks: UBLK_F_PER_IO_DAEMON, each queue's tags spread over the threads. */
  readonly per_io_tasks?: boolean;
  readonly usercopy: boolean;
  readonly copy: boolean;
  readonly unprivileged: boolean;
  readonly no_auto_part_scan?: boolean;
  readonly max_io_buf_bytes: number;
  readonly pin: boolean;
  readonly placement?: string;
  readonly 'log-level': string;
  /** The C utility's --debug_mask: any bit set asks for the debug log level. */
  readonly debug_mask?: number;
  /** Each target's own options (its planner's table), absent when not given. */
  readonly [targetOption: string]: unknown;
}

/**
 * The UBLK_F_* bits add's own options ask for, and those every device gets: planAdd sets flags
 * from these alone, and `tsublk features` derives "used by tsublk" from them (with each target's
 * `requests`), so the two cannot drift apart.
 */
export const ADD_FLAGS = {
  always: UBLK_F.CMD_IOCTL_ENCODE,
  u: UBLK_F.URING_CMD_COMP_IN_TASK,
  g: UBLK_F.NEED_GET_DATA,
  r: UBLK_F.USER_RECOVERY,
  e: UBLK_F.USER_RECOVERY | UBLK_F.USER_RECOVERY_FAIL_IO,
  i: UBLK_F.USER_RECOVERY | UBLK_F.USER_RECOVERY_REISSUE,
  /** --usercopy, and the daemon's default data path where the kernel offers it. */
  usercopy: UBLK_F.USER_COPY,
  /** -z / --auto_zc: the kernel registers each request's pages in the queue's ring (with user copy). */
  auto_zc: ZERO_COPY_FLAGS,
  /** -b / --batch-io (7.0): PREP/COMMIT_IO_CMDS and a multishot FETCH_IO_CMDS per queue. */
  'batch-io': UBLK_F.BATCH_IO,
  unprivileged: UBLK_F.UNPRIVILEGED_DEV,
  /** --no_auto_part_scan (7.0): the kernel reads no partition table at START_DEV. */
  no_auto_part_scan: UBLK_F.NO_AUTO_PART_SCAN,
  /** --per_io_tasks (6.16): each tag is served by the thread that fetched it, not one per queue. */
  per_io_tasks: UBLK_F.PER_IO_DAEMON,
} as const;

/** The options a user gave that belong to `planner`, checked against its table. */
function givenTargetValues(args: AddArguments, planner: TargetPlanner, others: readonly TargetPlanner[]): OptionValues {
  const values: Record<string, number | string | boolean> = {};
  for (const option of planner.options) {
    const raw = args[option.name] as number | string | boolean | undefined;
    if (raw !== undefined) values[option.name] = checkOptionValue(option, raw);
  }
  // An option of another target, given to this one: name whose it is.
  for (const other of others) {
    if (other === planner) continue;
    for (const option of other.options) {
      if (args[option.name] !== undefined && !(option.name in values)) {
        throw new Error(
          `--${option.name} is for the ${other.name} target: add -t ${other.name}, or leave --${option.name} out`,
        );
      }
    }
  }
  return values;
}

/**
 * Validates `add`'s options into a plan; every problem is one line naming the fix. `module`: the
 * planner of a module target (-t ./x.js), which the caller loaded.
 */
export function planAdd(args: AddArguments, module?: TargetPlanner): AddPlan {
  let target: string;
  try {
    target = resolveTargetName(args.type); // an unknown target fails here, naming the known ones
  } catch (error) {
    throw new UblkError((error as Error).message);
  }
  const devId = wholeNumberIn(
    args.number,
    -1,
    0x7fff_ffff,
    'device id',
    'use -n with 0 or more, or leave it out to let the kernel pick',
  );
  let queues = wholeNumberIn(
    args.queues,
    1,
    UBLK_MAX_NR_QUEUES,
    'queue count',
    `use -q between 1 and ${UBLK_MAX_NR_QUEUES}`,
  );
  const depth = wholeNumberIn(
    args.depth,
    1,
    UBLK_MAX_QUEUE_DEPTH,
    'queue depth',
    `use -d between 1 and ${UBLK_MAX_QUEUE_DEPTH}`,
  );
  if (!(validLogicalBlockSizes as readonly number[]).includes(args.bs))
    throw new UblkError(`bad block size ${args.bs}: use --bs 512, 1024, 2048 or 4096`);
  let sizeBytes: number | null = null;
  if (args.size !== undefined) {
    try {
      sizeBytes = parseSize(args.size);
    } catch (error) {
      throw new UblkError((error as Error).message);
    }
    if (sizeBytes <= 0 || sizeBytes % args.bs !== 0)
      throw new UblkError(`bad size ${args.size}: it must be a positive multiple of the block size (${args.bs})`);
  }
  const maxIoBufBytes = wholeNumberIn(
    args.max_io_buf_bytes,
    4096,
    32 * 2 ** 20,
    'max_io_buf_bytes',
    'use a multiple of 4096 between 4K and 32M',
  );
  if (maxIoBufBytes % 4096 !== 0) throw new UblkError(`bad max_io_buf_bytes ${maxIoBufBytes}: use a multiple of 4096`);
  for (const [flag, value] of [
    ['-u', args.u],
    ['-g', args.g],
    ['-r', args.r],
    ['-e', args.e],
    ['-i', args.i],
  ] as const) {
    if (value !== 0 && value !== 1) throw new UblkError(`bad ${flag} ${value}: use 0 or 1`);
  }
  let flags: number = ADD_FLAGS.always;
  if (args.u === 1) flags |= ADD_FLAGS.u;
  if (args.g === 1) flags |= ADD_FLAGS.g;
  if (args.r === 1) flags |= ADD_FLAGS.r;
  if (args.e === 1) flags |= ADD_FLAGS.e;
  if (args.i === 1) flags |= ADD_FLAGS.i;
  const recovery = args.r === 1 || args.e === 1 || args.i === 1;
  if (args.usercopy && args.copy) throw new UblkError('--usercopy and --copy exclude each other: pick one data path');
  if (args.usercopy && args.g === 1)
    throw new UblkError('--usercopy and -g 1 exclude each other: user copy needs no get-data round trip');
  if (args.usercopy) flags |= ADD_FLAGS.usercopy;
  if (args.auto_zc) {
    const other = args.usercopy ? '--usercopy' : args.copy ? '--copy' : args.g === 1 ? '-g 1' : null;
    if (other !== null) throw new UblkError(`-z and ${other} exclude each other: pick one data path`);
    // The kernel lets only privileged servers register a request's pages (as for user copy).
    if (args.unprivileged)
      throw new UblkError(
        '-z and --unprivileged exclude each other: the kernel gives unprivileged devices no zero copy',
      );
    flags |= ADD_FLAGS.auto_zc;
  }
  if (args['batch-io']) {
    // The batch commands carry no get-data step: each write's data is in place when it arrives.
    if (args.g === 1)
      throw new UblkError('-b and -g 1 exclude each other: batch I/O has no get-data round trip; leave -g 1 out');
    flags |= ADD_FLAGS['batch-io'];
  }
  if (args.no_auto_part_scan === true) flags |= ADD_FLAGS.no_auto_part_scan;
  if (args.unprivileged) {
    // The kernel refuses user copy to unprivileged devices and drops their recovery flags.
    if (args.usercopy)
      throw new UblkError(
        '--usercopy and --unprivileged exclude each other: the kernel gives unprivileged devices only the copy data path',
      );
    if (recovery)
      throw new UblkError(
        '-r, -e and -i need a privileged device: the kernel gives unprivileged devices no recovery; leave them out or run as root',
      );
    flags |= ADD_FLAGS.unprivileged;
  }
  const placementGiven = args.pin ? 'pin' : QUEUE_PLACEMENTS.find((known) => known === args.placement);
  if (args.placement !== undefined && placementGiven === undefined)
    throw new UblkError(`bad --placement ${String(args.placement)}: use ${QUEUE_PLACEMENTS.join(', ')}`);
  const logLevel = LOG_LEVELS.find(
    (level) => level === (args.debug_mask !== undefined && args.debug_mask !== 0 ? 'debug' : args['log-level']),
  );
  if (logLevel === undefined) throw new UblkError(`bad --log-level ${args['log-level']}: use ${LOG_LEVELS.join(', ')}`);
  // NEED_GET_DATA is a copy-mode round trip: with -g 1 the data path is the per-tag buffer.
  const asked = args.auto_zc
    ? 'zerocopy'
    : args.usercopy
      ? 'usercopy'
      : args.copy || args.g === 1 || args.unprivileged
        ? 'copy'
        : 'auto';
  const planner = builtinPlanner(target) ?? module;
  if (planner === undefined) throw new UblkError(`target module ${target} was not loaded: this is a bug in tsublk`);
  const common: CommonSettings = {
    sizeBytes,
    logicalBlockSize: args.bs,
    logicalBlockSizeGiven: args.bsGiven === true,
    queues,
    queuesGiven: args.queuesGiven !== false,
    depth,
    maxIoBufBytes,
    unprivileged: args.unprivileged,
    recovery,
    dataPath: asked,
  };
  let targetPlan: TargetPlan;
  try {
    targetPlan = planner.plan(
      givenTargetValues(args, planner, [...builtinPlanners(), ...(module === undefined ? [] : [module])]),
      common,
    );
  } catch (error) {
    throw new UblkError((error as Error).message);
  }
  if (args.queuesGiven === false && targetPlan.queues !== undefined) queues = targetPlan.queues;
  const needed = targetPlan.dataPath;
  if (asked === 'zerocopy') {
    if (targetPlan.zeroCopy !== true)
      throw new UblkError(
        `-z needs a target that moves request data only through QueueIo (loop and nbd do); the ${planner.name} target does not: leave -z out`,
      );
  } else if (needed !== undefined && asked !== 'auto' && needed !== asked) {
    throw new UblkError(
      `the ${planner.name} target needs the ${needed === 'copy' ? 'per-tag buffer (copy)' : 'user copy'} data path: leave out ${needed === 'copy' ? '--usercopy' : '--copy, -g 1 and --unprivileged'}`,
    );
  }
  const asksFor = targetPlan.flags ?? 0;
  if ((asksFor & ~(planner.requests ?? 0)) !== 0)
    throw new Error(
      `the ${planner.name} target's plan asks for UBLK_F_* 0x${asksFor.toString(16)} beyond its requests (0x${(planner.requests ?? 0).toString(16)}): a bug in that target`,
    );
  flags |= asksFor;
  const placement = placementGiven ?? targetPlan.placement ?? 'beside';
  const threads = planThreads(args, queues, depth, flags, planner);
  if (args.per_io_tasks === true) flags |= ADD_FLAGS.per_io_tasks;
  return {
    devId,
    queues,
    threads,
    depth,
    maxIoBufBytes,
    flags,
    target,
    targetConfig: targetPlan.config,
    placement,
    // Zero copy is the default where a target can take it: the loop target served 4.2x the
    // IOPS of the copy path on 128k reads, 1.2-1.5x on 4k at depth 32 (npm run bench, sid 7.2).
    dataPath:
      asked === 'zerocopy'
        ? asked
        : asked === 'auto' && targetPlan.zeroCopy === true
          ? 'zerocopy-or-copy'
          : (needed ?? asked),
    logLevel,
  };
}

/** A module target's (-t ./x.js) options and plan: the module is loaded here, in the CLI. */
export async function loadModulePlanner(name: string): Promise<TargetPlanner> {
  const file = resolveTargetName(name);
  return modulePlanner(await loadModuleTarget(file), file);
}

/** Every UBLK_F_* bit tsublk may ask the kernel for: add's options, the data paths, the built-in targets' plans. */
export function flagsTsublkRequests(): number {
  return [
    ...Object.values(ADD_FLAGS),
    ...builtinPlanners().map((planner) => planner.requests ?? 0),
    flagsCommandsUse(),
  ].reduce((all, bits) => all | bits, 0);
}
