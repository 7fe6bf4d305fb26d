// The io_uring user_data of a queue's SQEs, defined in one place: tag in bits 0-15, kind in bits
// 16-17, and the target's own value above (below 2^32 - 2^18, so the low CQE word holds it all).

/** What a completion is about. */
export const UserDataKind = {
  /** A ublk command for the tag (FETCH_REQ, COMMIT_AND_FETCH_REQ, NEED_GET_DATA). */
  UblkCommand: 0,
  /** I/O the target issued on the queue's ring for the tag. */
  TargetIo: 1,
  /** A batch command (UBLK_F_BATCH_IO); the tag bits say which (see batch-commands.ts). */
  BatchCommand: 2,
  /** Stream I/O of the target (QueueIo.writeStream/readStream); the tag bits say which stream. */
  TargetStream: 3,
} as const;

export const TAG_BITS = 16;
const TAG_MASK = 0xffff;
const KIND_SHIFT = 16;
const KIND_MASK = 0x3;
const VALUE_SHIFT = 18;
/** The largest value a target may carry in its own user_data. */
export const MAX_TARGET_VALUE = 2 ** (32 - VALUE_SHIFT) - 1;

export function encodeUserData(tag: number, kind: number, value = 0): number {
  return (tag & TAG_MASK) | ((kind & KIND_MASK) << KIND_SHIFT) | ((value << VALUE_SHIFT) >>> 0);
}

export function userDataTag(userData: number): number {
  return userData & TAG_MASK;
}

export function userDataKind(userData: number): number {
  return (userData >>> KIND_SHIFT) & KIND_MASK;
}

export function userDataValue(userData: number): number {
  return userData >>> VALUE_SHIFT;
}
