import { release } from 'node:os';
import { UBLK_F, UBLK_F_BIT } from '../../native-bindings/ublk_cmd.js';
import { UserError } from '../errors.js';

/**
 * The zero copy data path: the kernel registers each request's pages in the queue's ring
 * (AUTO_BUF_REG, 6.16), and user copy comes with it, so a target can still copy small pieces
 * (an NBD reply's data, a hole's zeros) with copyToRequest. The kernel takes the two together.
 */
export const ZERO_COPY_FLAGS = UBLK_F.AUTO_BUF_REG | UBLK_F.USER_COPY;

/** Names of the UBLK_F_* bits set in `flags`, lowest first. */
export function featureNames(flags: number): string[] {
  return Object.entries(UBLK_F_BIT)
    .filter(([, bit]) => Math.floor(flags / 2 ** bit) % 2 === 1)
    .map(([name]) => name);
}

/**
 * The kernel release that brought each feature (the UAPI's history; facts.md): for `features`
 * and for "this kernel lacks X" errors. A Record over every bit: a bit added to UBLK_F_BIT
 * without its release does not compile.
 */
export const featureSince: Readonly<Record<keyof typeof UBLK_F_BIT, string>> = {
  SUPPORT_ZERO_COPY: '6.0',
  URING_CMD_COMP_IN_TASK: '6.0',
  NEED_GET_DATA: '6.0',
  USER_RECOVERY: '6.0',
  USER_RECOVERY_REISSUE: '6.0',
  UNPRIVILEGED_DEV: '6.5',
  CMD_IOCTL_ENCODE: '6.4',
  USER_COPY: '6.5',
  ZONED: '6.6',
  USER_RECOVERY_FAIL_IO: '6.13',
  UPDATE_SIZE: '6.16',
  AUTO_BUF_REG: '6.16',
  QUIESCE: '6.16',
  PER_IO_DAEMON: '6.16',
  BUF_REG_OFF_DAEMON: '6.17',
  BATCH_IO: '7.0',
  INTEGRITY: '7.0',
  SAFE_STOP_DEV: '7.0',
  NO_AUTO_PART_SCAN: '7.0',
  SHMEM_ZC: '7.1',
};

/** The bits set in `flags` that tsublk has no name for (a kernel newer than its UAPI tables). */
export function unknownFeatureBits(flags: number): number[] {
  const known = new Set<number>(Object.values(UBLK_F_BIT));
  const bits: number[] = [];
  for (let bit = 0; bit < 64 && 2 ** bit <= flags; bit++)
    if (Math.floor(flags / 2 ** bit) % 2 === 1 && !known.has(bit)) bits.push(bit);
  return bits;
}

/**
 * The feature each newer control command belongs to. The control device refuses such a command
 * by name where the kernel lacks its feature, and `tsublk features` counts the feature as used:
 * one table, so the two cannot drift apart.
 */
export const commandFeatures = {
  UPDATE_SIZE: 'UPDATE_SIZE',
  QUIESCE_DEV: 'QUIESCE',
  TRY_STOP_DEV: 'SAFE_STOP_DEV',
} as const satisfies Readonly<Record<string, keyof typeof UBLK_F_BIT>>;

/** The UBLK_F_* bits of the features tsublk's control commands use (commandFeatures). */
export function flagsCommandsUse(): number {
  return Object.values(commandFeatures).reduce((all, name) => all + 2 ** UBLK_F_BIT[name], 0);
}

/**
 * The one refusal of a feature this kernel lacks, naming it and the release that brought it;
 * `fix` says what to do instead.
 */
export function lacksFeature(feature: keyof typeof UBLK_F_BIT, fix: string): UserError {
  return new UserError(
    `this kernel (${release()}) lacks UBLK_F_${feature}, which Linux ${featureSince[feature]} brought: ${fix}`,
    'not-supported',
  );
}
