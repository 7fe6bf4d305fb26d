// Mirrors of include/uapi/linux/blkzoned.h: the zone descriptor a ublk server writes for
// UBLK_IO_OP_REPORT_ZONES (ublk's UAPI includes it), checked by the layout test.
import { type UapiCheck, constantChecks, structChecks } from './uapi-check.js';

/** struct blk_zone (64 bytes): start, len, wp and capacity in 512-byte sectors. */
export const BlkZone = {
  size: 64,
  start: 0,
  len: 8,
  wp: 16,
  type: 24,
  cond: 25,
  non_seq: 26,
  reset: 27,
  capacity: 32,
} as const;

/** enum blk_zone_type. */
export const BLK_ZONE_TYPE = { CONVENTIONAL: 0x1, SEQWRITE_REQ: 0x2, SEQWRITE_PREF: 0x3 } as const;

/** enum blk_zone_cond. */
export const BLK_ZONE_COND = {
  NOT_WP: 0x0,
  EMPTY: 0x1,
  IMP_OPEN: 0x2,
  EXP_OPEN: 0x3,
  CLOSED: 0x4,
  READONLY: 0xd,
  FULL: 0xe,
  OFFLINE: 0xf,
} as const;

export const uapiChecks: readonly UapiCheck[] = [
  ...structChecks('struct blk_zone', BlkZone),
  ...constantChecks('BLK_ZONE_TYPE_', BLK_ZONE_TYPE, 'enum'),
  ...constantChecks('BLK_ZONE_COND_', BLK_ZONE_COND, 'enum'),
];
