// Mirror of include/uapi/linux/io_uring.h: the constants and byte offsets tsublk uses (x86-64).

/** struct io_uring_params (120 bytes). */
export const IoUringParams = {
  size: 120,
  sq_entries: 0,
  cq_entries: 4,
  flags: 8,
  sq_thread_cpu: 12,
  sq_thread_idle: 16,
  features: 20,
  wq_fd: 24,
  sq_off: 40,
  cq_off: 80,
} as const;

/** struct io_sqring_offsets (40 bytes), relative to IoUringParams.sq_off. */
export const IoSqringOffsets = { head: 0, tail: 4, ring_mask: 8, ring_entries: 12, flags: 16, dropped: 20, array: 24, user_addr: 32 } as const;

/** struct io_cqring_offsets (40 bytes), relative to IoUringParams.cq_off. */
export const IoCqringOffsets = { head: 0, tail: 4, ring_mask: 8, ring_entries: 12, overflow: 16, cqes: 20, flags: 24, user_addr: 32 } as const;

/** struct io_uring_sqe (64 bytes; 128 with IORING_SETUP_SQE128, the extra 64 extending cmd). */
export const IoUringSqe = {
  size: 64,
  opcode: 0,
  flags: 1,
  ioprio: 2,
  fd: 4,
  off: 8,
  cmd_op: 8,
  addr: 16,
  len: 24,
  op_flags: 28,
  user_data: 32,
  buf_index: 40,
  personality: 42,
  file_index: 44,
  addr3: 48,
  cmd: 48,
} as const;

/** struct io_uring_cqe (16 bytes; 32 with IORING_SETUP_CQE32). */
export const IoUringCqe = { size: 16, user_data: 0, res: 8, flags: 12 } as const;

/** mmap offsets of the rings and the SQE array on the ring's fd. */
export const IORING_OFF_SQ_RING = 0;
export const IORING_OFF_CQ_RING = 0x8000000;
export const IORING_OFF_SQES = 0x10000000;

/** io_uring_params.flags */
export const IORING_SETUP = {
  IOPOLL: 1 << 0,
  SQPOLL: 1 << 1,
  SQ_AFF: 1 << 2,
  CQSIZE: 1 << 3,
  CLAMP: 1 << 4,
  ATTACH_WQ: 1 << 5,
  R_DISABLED: 1 << 6,
  SUBMIT_ALL: 1 << 7,
  COOP_TASKRUN: 1 << 8,
  TASKRUN_FLAG: 1 << 9,
  SQE128: 1 << 10,
  CQE32: 1 << 11,
  SINGLE_ISSUER: 1 << 12,
  DEFER_TASKRUN: 1 << 13,
} as const;

/** io_uring_params.features */
export const IORING_FEAT = {
  SINGLE_MMAP: 1 << 0,
  NODROP: 1 << 1,
  SUBMIT_STABLE: 1 << 2,
  RW_CUR_POS: 1 << 3,
  CUR_PERSONALITY: 1 << 4,
  FAST_POLL: 1 << 5,
  POLL_32BITS: 1 << 6,
  SQPOLL_NONFIXED: 1 << 7,
  EXT_ARG: 1 << 8,
} as const;

/** io_uring_enter(2) flags */
export const IORING_ENTER = { GETEVENTS: 1 << 0, SQ_WAKEUP: 1 << 1, SQ_WAIT: 1 << 2, EXT_ARG: 1 << 3, REGISTERED_RING: 1 << 4 } as const;

/** SQ ring flags the kernel sets (IORING_SQ_*). */
export const IORING_SQ = { NEED_WAKEUP: 1 << 0, CQ_OVERFLOW: 1 << 1, TASKRUN: 1 << 2 } as const;

/** enum io_uring_op: the opcodes tsublk uses. */
export const IORING_OP = {
  NOP: 0,
  READV: 1,
  WRITEV: 2,
  FSYNC: 3,
  TIMEOUT: 11,
  ASYNC_CANCEL: 14,
  READ: 22,
  WRITE: 23,
  URING_CMD: 46,
} as const;
