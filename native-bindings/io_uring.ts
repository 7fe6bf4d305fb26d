// Mirror of include/uapi/linux/io_uring.h: the constants and byte offsets tsublk uses (x86-64).
// test/unit/uapi-layout.test.ts compiles uapiChecks against the kernel's own headers.
import { type UapiCheck, constantChecks, structChecks } from './uapi-check.js';

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
export const IoSqringOffsets = {
  head: 0,
  tail: 4,
  ring_mask: 8,
  ring_entries: 12,
  flags: 16,
  dropped: 20,
  array: 24,
  user_addr: 32,
} as const;

/** struct io_cqring_offsets (40 bytes), relative to IoUringParams.cq_off. */
export const IoCqringOffsets = {
  head: 0,
  tail: 4,
  ring_mask: 8,
  ring_entries: 12,
  overflow: 16,
  cqes: 20,
  flags: 24,
  user_addr: 32,
} as const;

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
  rw_flags: 28,
  user_data: 32,
  buf_index: 40,
  personality: 42,
  file_index: 44,
  addr3: 48,
  cmd: 48,
} as const;

/** struct io_uring_cqe (16 bytes; 32 with IORING_SETUP_CQE32). */
export const IoUringCqe = { size: 16, user_data: 0, res: 8, flags: 12 } as const;

/** mmap offsets of the rings and the SQE array on the ring's fd (IORING_OFF_*). */
export const IORING_OFF = { SQ_RING: 0, CQ_RING: 0x8000000, SQES: 0x10000000 } as const;

/** struct io_uring_getevents_arg: io_uring_enter's argument with IORING_ENTER_EXT_ARG. */
export const IoUringGeteventsArg = { size: 24, sigmask: 0, sigmask_sz: 8, min_wait_usec: 12, ts: 16 } as const;

/** struct __kernel_timespec (linux/time_types.h). */
export const KernelTimespec = { size: 16, tv_sec: 0, tv_nsec: 8 } as const;

/** struct iovec (the element of IORING_REGISTER_BUFFERS' array). */
export const Iovec = { size: 16, iov_base: 0, iov_len: 8 } as const;

/** io_uring_sqe.flags (IOSQE_*). */
export const IOSQE = {
  FIXED_FILE: 1 << 0,
  IO_DRAIN: 1 << 1,
  IO_LINK: 1 << 2,
  IO_HARDLINK: 1 << 3,
  ASYNC: 1 << 4,
  BUFFER_SELECT: 1 << 5,
  CQE_SKIP_SUCCESS: 1 << 6,
} as const;

/** io_uring_cqe.flags (IORING_CQE_F_*). */
export const IORING_CQE_F = {
  BUFFER: 1 << 0,
  MORE: 1 << 1,
  SOCK_NONEMPTY: 1 << 2,
  NOTIF: 1 << 3,
  /** The provided buffer (IOU_PBUF_RING_INC) has room left: later completions go on filling it. */
  BUF_MORE: 1 << 4,
} as const;

/** With IORING_CQE_F_BUFFER, the provided buffer's id is the CQE's flags >> this. */
export const IORING_CQE_BUFFER_SHIFT = 16;

/** io_uring_sqe.uring_cmd_flags (IORING_URING_CMD_*). */
export const IORING_URING_CMD = { FIXED: 1 << 0, MULTISHOT: 1 << 1 } as const;

/** struct io_uring_buf_reg: IORING_REGISTER_PBUF_RING's argument (later members: reserved). */
export const IoUringBufReg = { size: 40, ring_addr: 0, ring_entries: 8, bgid: 12, flags: 14 } as const;

/** struct io_uring_buf: one entry of a provided buffer ring; the ring's u16 tail overlays entry 0's resv. */
export const IoUringBuf = { size: 16, addr: 0, len: 8, bid: 12, resv: 14 } as const;

/** io_uring_buf_reg.flags (enum io_uring_register_pbuf_ring_flags). */
export const IOU_PBUF_RING = { MMAP: 1, INC: 2 } as const;

/** The fsync op's flags (IORING_FSYNC_*). */
export const IORING_FSYNC = { DATASYNC: 1 << 0 } as const;

/** The timeout op's flags (IORING_TIMEOUT_*). */
export const IORING_TIMEOUT = {
  ABS: 1 << 0,
  UPDATE: 1 << 1,
  BOOTTIME: 1 << 2,
  REALTIME: 1 << 3,
  ETIME_SUCCESS: 1 << 5,
} as const;

/** The cancel op's flags (IORING_ASYNC_CANCEL_*). */
export const IORING_ASYNC_CANCEL = { ALL: 1 << 0, FD: 1 << 1, ANY: 1 << 2, FD_FIXED: 1 << 3 } as const;

/** io_uring_register(2) opcodes (enum io_uring_register_op). */
export const IORING_REGISTER = {
  BUFFERS: 0,
  UNREGISTER_BUFFERS: 1,
  FILES: 2,
  UNREGISTER_FILES: 3,
  /** A buffer table from struct io_uring_rsrc_register (sparse: empty slots for the kernel to fill). */
  BUFFERS2: 15,
  /** A ring of provided buffers (struct io_uring_buf_reg), chosen by the kernel per completion. */
  PBUF_RING: 22,
  UNREGISTER_PBUF_RING: 23,
} as const;

/** struct io_uring_rsrc_register (IORING_REGISTER_BUFFERS2's argument; its size is the count). */
export const IoUringRsrcRegister = { size: 32, nr: 0, flags: 4, resv2: 8, data: 16, tags: 24 } as const;

/** io_uring_rsrc_register.flags (IORING_RSRC_REGISTER_*). */
export const IORING_RSRC_REGISTER = { SPARSE: 1 << 0 } as const;

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
export const IORING_ENTER = {
  GETEVENTS: 1 << 0,
  SQ_WAKEUP: 1 << 1,
  SQ_WAIT: 1 << 2,
  EXT_ARG: 1 << 3,
  REGISTERED_RING: 1 << 4,
} as const;

/** SQ ring flags the kernel sets (IORING_SQ_*). */
export const IORING_SQ = { NEED_WAKEUP: 1 << 0, CQ_OVERFLOW: 1 << 1, TASKRUN: 1 << 2 } as const;

/** enum io_uring_op: the opcodes tsublk uses. */
/** RWF_* flags of a read or write (the SQE's rw_flags): RWF_DSYNC makes one write durable, as FUA asks. */
export const RWF = { HIPRI: 1, DSYNC: 2, SYNC: 4, NOWAIT: 8 } as const;

export const IORING_OP = {
  NOP: 0,
  READV: 1,
  WRITEV: 2,
  FSYNC: 3,
  TIMEOUT: 11,
  ASYNC_CANCEL: 14,
  READ_FIXED: 4,
  WRITE_FIXED: 5,
  TIMEOUT_REMOVE: 12,
  LINK_TIMEOUT: 15,
  FALLOCATE: 17,
  READ: 22,
  WRITE: 23,
  URING_CMD: 46,
} as const;

/** Every fact above, for the layout test. */
export const uapiChecks: readonly UapiCheck[] = [
  ...structChecks('struct io_uring_params', IoUringParams),
  ...structChecks('struct io_sqring_offsets', { size: 40, ...IoSqringOffsets }),
  ...structChecks('struct io_cqring_offsets', { size: 40, ...IoCqringOffsets }),
  ...structChecks('struct io_uring_sqe', IoUringSqe),
  ...structChecks('struct io_uring_cqe', IoUringCqe),
  ...structChecks('struct io_uring_getevents_arg', IoUringGeteventsArg),
  ...structChecks('struct __kernel_timespec', KernelTimespec),
  ...structChecks('struct iovec', Iovec),
  ...structChecks('struct io_uring_rsrc_register', IoUringRsrcRegister),
  ...constantChecks('IORING_RSRC_REGISTER_', IORING_RSRC_REGISTER, 'macro'),
  ...structChecks('struct io_uring_buf_reg', IoUringBufReg),
  ...structChecks('struct io_uring_buf', IoUringBuf),
  ...constantChecks('IOU_PBUF_RING_', IOU_PBUF_RING, 'enum'),
  ...constantChecks('IORING_URING_CMD_', IORING_URING_CMD, 'macro', { MULTISHOT: 'after 6.12' }),
  ...constantChecks('', { IORING_CQE_BUFFER_SHIFT }, 'macro'),
  ...constantChecks('IORING_OFF_', IORING_OFF, 'macro'),
  ...constantChecks('IORING_SETUP_', IORING_SETUP, 'macro'),
  ...constantChecks('IORING_FEAT_', IORING_FEAT, 'macro'),
  ...constantChecks('IORING_ENTER_', IORING_ENTER, 'macro'),
  ...constantChecks('IORING_SQ_', IORING_SQ, 'macro'),
  ...constantChecks('IOSQE_', IOSQE, 'macro'),
  ...constantChecks('IORING_CQE_F_', IORING_CQE_F, 'macro'),
  ...constantChecks('IORING_FSYNC_', IORING_FSYNC, 'macro'),
  ...constantChecks('IORING_TIMEOUT_', IORING_TIMEOUT, 'macro'),
  ...constantChecks('IORING_ASYNC_CANCEL_', IORING_ASYNC_CANCEL, 'macro'),
  ...constantChecks(
    'IORING_REGISTER_',
    {
      BUFFERS: IORING_REGISTER.BUFFERS,
      FILES: IORING_REGISTER.FILES,
      BUFFERS2: IORING_REGISTER.BUFFERS2,
      PBUF_RING: IORING_REGISTER.PBUF_RING,
    },
    'enum',
  ),
  ...constantChecks(
    'IORING_',
    {
      UNREGISTER_BUFFERS: IORING_REGISTER.UNREGISTER_BUFFERS,
      UNREGISTER_FILES: IORING_REGISTER.UNREGISTER_FILES,
      UNREGISTER_PBUF_RING: IORING_REGISTER.UNREGISTER_PBUF_RING,
    },
    'enum',
  ),
  ...constantChecks('IORING_OP_', IORING_OP, 'enum'),
  ...constantChecks('RWF_', RWF, 'macro'), // linux/fs.h, which io_uring.h includes
];
