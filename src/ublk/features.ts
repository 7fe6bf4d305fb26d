import { UBLK_F_BIT } from '../../native-bindings/ublk_cmd.js';

/** Names of the UBLK_F_* bits set in `flags`, lowest first. */
export function featureNames(flags: number): string[] {
  return Object.entries(UBLK_F_BIT)
    .filter(([, bit]) => Math.floor(flags / 2 ** bit) % 2 === 1)
    .map(([name]) => name);
}

/** The kernel release that brought each feature, for "this kernel lacks X" errors. */
export const featureSince: Readonly<Partial<Record<keyof typeof UBLK_F_BIT, string>>> = {
  UNPRIVILEGED_DEV: '6.5',
  CMD_IOCTL_ENCODE: '6.4',
  USER_COPY: '6.5',
  ZONED: '6.6',
  USER_RECOVERY_FAIL_IO: '6.13',
  PER_IO_DAEMON: '6.16',
};
