import { UBLK_F, UBLK_MAX_NR_QUEUES, UBLK_MAX_QUEUE_DEPTH } from '../../native-bindings/ublk_cmd.js';
import { nullConfigFrom, nullOptions } from '../targets/null-options.js';
import { resolveTargetName } from '../targets/registry.js';
import { validLogicalBlockSizes } from '../blk/disk.js';
import { UblkError } from '../ublk/errors.js';
import { parseSize } from './sizes.js';
import { LOG_LEVELS, type LogLevel } from '../ublk/device-log.js';

/** A validated `add`: plain data, handed from the CLI to the daemon it starts. */
export interface AddPlan {
  /** -1: the kernel picks. */
  readonly devId: number;
  readonly queues: number;
  readonly depth: number;
  readonly maxIoBufBytes: number;
  /** UBLK_F_* to ask the kernel for. */
  readonly flags: number;
  readonly target: string;
  /** sizeBytes 0: the existing --backing file's size. backing: the memory target's file (null: /dev/shm). */
  readonly targetConfig: { readonly sizeBytes: number; readonly logicalBlockSize: number; readonly backing?: string | null; readonly [setting: string]: unknown };
  readonly pinQueues: boolean;
  /**
   * How request data moves: `usercopy` (UBLK_F_USER_COPY), `copy` (per-tag buffers), or `auto`:
   * user copy where the running kernel offers it (decided by the daemon, which asks it).
   */
  readonly dataPath: 'auto' | 'usercopy' | 'copy';
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
  readonly backing?: string | undefined;
  readonly bs: number;
  readonly u: number;
  readonly g: number;
  readonly r: number;
  readonly e: number;
  readonly i: number;
  readonly z: boolean;
  readonly b: boolean;
  readonly usercopy: boolean;
  readonly copy: boolean;
  readonly unprivileged: boolean;
  readonly max_io_buf_bytes: number;
  readonly pin: boolean;
  readonly 'log-level': string;
  /** The null target's null_blk-named options (null-options.ts), absent when not given. */
  readonly [nullOption: string]: unknown;
}

function wholeNumberIn(value: number, low: number, high: number, what: string, fix: string): number {
  if (!Number.isInteger(value) || value < low || value > high) throw new UblkError(`bad ${what} ${value}: ${fix}`);
  return value;
}

/** Validates `add`'s options into a plan; every problem is one line naming the fix. */
export function planAdd(args: AddArguments): AddPlan {
  let target: string;
  try {
    target = resolveTargetName(args.type); // an unknown target fails here, naming the known ones
  } catch (error) {
    throw new UblkError((error as Error).message);
  }
  if (args.z) throw new UblkError('-z (zero copy) is not supported yet: leave it out');
  if (args.b) throw new UblkError('-b (batch I/O) is not supported yet: leave it out');
  const devId = wholeNumberIn(args.number, -1, 0x7fff_ffff, 'device id', 'use -n with 0 or more, or leave it out to let the kernel pick');
  const queues = wholeNumberIn(args.queues, 1, UBLK_MAX_NR_QUEUES, 'queue count', `use -q between 1 and ${UBLK_MAX_NR_QUEUES}`);
  const depth = wholeNumberIn(args.depth, 1, UBLK_MAX_QUEUE_DEPTH, 'queue depth', `use -d between 1 and ${UBLK_MAX_QUEUE_DEPTH}`);
  if (!(validLogicalBlockSizes as readonly number[]).includes(args.bs)) throw new UblkError(`bad block size ${args.bs}: use --bs 512, 1024, 2048 or 4096`);
  const memory = target === 'memory';
  const nullValues: Record<string, number | string | undefined> = {};
  for (const option of nullOptions) {
    const value = args[option.name] as string | number | undefined;
    if (value === undefined) continue;
    if (target !== 'null') throw new UblkError(`--${option.name} is for the null target: add -t null, or leave --${option.name} out`);
    nullValues[option.name] = option.kind === 'string' ? String(value) : Number(value);
  }
  let nullConfig: Record<string, unknown>;
  try {
    nullConfig = nullConfigFrom(nullValues, queues);
  } catch (error) {
    throw new UblkError((error as Error).message);
  }
  if (args.backing !== undefined && !memory) throw new UblkError('--backing is for the memory target: add -t memory, or leave --backing out');
  let size = args.size;
  if (size === undefined) {
    if (memory && args.backing === undefined) throw new UblkError('a memory device needs a size: add --size (e.g. --size 1G)');
    size = memory ? '0' : '250GiB';
  }
  let sizeBytes: number;
  try {
    sizeBytes = parseSize(size);
  } catch (error) {
    throw new UblkError((error as Error).message);
  }
  const fromBacking = memory && args.size === undefined;
  if ((sizeBytes <= 0 && !fromBacking) || sizeBytes % args.bs !== 0) throw new UblkError(`bad size ${size}: it must be a positive multiple of the block size (${args.bs})`);
  const maxIoBufBytes = wholeNumberIn(args.max_io_buf_bytes, 4096, 32 * 2 ** 20, 'max_io_buf_bytes', 'use a multiple of 4096 between 4K and 32M');
  if (maxIoBufBytes % 4096 !== 0) throw new UblkError(`bad max_io_buf_bytes ${maxIoBufBytes}: use a multiple of 4096`);
  const maxSectors = Number(nullConfig['maxSectors'] ?? 0);
  if (maxSectors * 512 > maxIoBufBytes) throw new UblkError(`bad --max_sectors ${maxSectors}: requests of ${maxSectors * 512} bytes need --max_io_buf_bytes ${maxSectors * 512} or more (it is ${maxIoBufBytes})`);
  if (maxSectors > 0 && maxSectors * 512 < args.bs) throw new UblkError(`bad --max_sectors ${maxSectors}: a request must hold one block; use at least ${args.bs / 512}`);
  if (Number(nullConfig['cacheSize'] ?? 0) > 0 && (args.r === 1 || args.e === 1 || args.i === 1)) {
    throw new UblkError('--cache_size and -r/-e/-i exclude each other: the write cache lives in the daemon and dies with it, so the device could not be recovered');
  }
  for (const [flag, value] of [['-u', args.u], ['-g', args.g], ['-r', args.r], ['-e', args.e], ['-i', args.i]] as const) {
    if (value !== 0 && value !== 1) throw new UblkError(`bad ${flag} ${value}: use 0 or 1`);
  }
  let flags = UBLK_F.CMD_IOCTL_ENCODE;
  if (args.u === 1) flags |= UBLK_F.URING_CMD_COMP_IN_TASK;
  if (args.g === 1) flags |= UBLK_F.NEED_GET_DATA;
  if (args.r === 1) flags |= UBLK_F.USER_RECOVERY;
  if (args.e === 1) flags |= UBLK_F.USER_RECOVERY | UBLK_F.USER_RECOVERY_FAIL_IO;
  if (args.i === 1) flags |= UBLK_F.USER_RECOVERY | UBLK_F.USER_RECOVERY_REISSUE;
  if (args.usercopy && args.copy) throw new UblkError('--usercopy and --copy exclude each other: pick one data path');
  if (args.usercopy && args.g === 1) throw new UblkError('--usercopy and -g 1 exclude each other: user copy needs no get-data round trip');
  if (args.usercopy) flags |= UBLK_F.USER_COPY;
  if (args.unprivileged) {
    // The kernel refuses user copy to unprivileged devices and drops their recovery flags.
    if (args.usercopy) throw new UblkError('--usercopy and --unprivileged exclude each other: the kernel gives unprivileged devices only the copy data path');
    if (args.r === 1 || args.e === 1 || args.i === 1) throw new UblkError('-r, -e and -i need a privileged device: the kernel gives unprivileged devices no recovery; leave them out or run as root');
    if (Number(nullConfig['timeoutInject'] ?? 0) > 0) throw new UblkError('--timeout_inject needs a privileged device: ublk_drv kills an unprivileged device\'s daemon when a request times out; leave it out or run as root');
    flags |= UBLK_F.UNPRIVILEGED_DEV;
  }
  // A zoned device reports its zones through user copy: the kernel refuses UBLK_F_ZONED without it.
  const zoned = nullConfig['zoned'] === 1;
  if (zoned) {
    if (args.copy || args.g === 1 || args.unprivileged) throw new UblkError('--zoned 1 needs the user copy data path (UBLK_F_USER_COPY): leave out --copy, -g 1 and --unprivileged');
    flags |= UBLK_F.ZONED | UBLK_F.USER_COPY;
  }
  // NEED_GET_DATA is a copy-mode round trip: with -g 1 the data path is the per-tag buffer.
  const logLevel = LOG_LEVELS.find((level) => level === args['log-level']);
  if (logLevel === undefined) throw new UblkError(`bad --log-level ${args['log-level']}: use ${LOG_LEVELS.join(', ')}`);
  const dataPath = args.usercopy || zoned ? 'usercopy' : args.copy || args.g === 1 || args.unprivileged ? 'copy' : 'auto';
  return { devId, queues, depth, maxIoBufBytes, flags, target, targetConfig: memory ? { sizeBytes, logicalBlockSize: args.bs, backing: args.backing ?? null } : { sizeBytes, logicalBlockSize: args.bs, ...nullConfig }, pinQueues: args.pin, dataPath, logLevel };
}
