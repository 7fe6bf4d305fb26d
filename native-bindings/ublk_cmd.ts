// Mirror of include/uapi/linux/ublk_cmd.h (x86-64): the ublk control and I/O protocol.
// test/unit/uapi-layout.test.ts compiles ublk_cmd-checks.ts against the kernel's own headers.

// <asm-generic/ioctl.h>: dir << 30 | size << 16 | type << 8 | nr (no multiplication overflows 2^53).
const IOC_WRITE = 1;
const IOC_READ = 2;
const ioc = (dir: number, nr: number, size: number): number =>
  dir * 2 ** 30 + size * 2 ** 16 + 0x75 /* 'u' */ * 2 ** 8 + nr;
const IOR = (nr: number, size: number): number => ioc(IOC_READ, nr, size);
const IOWR = (nr: number, size: number): number => ioc(IOC_READ | IOC_WRITE, nr, size);

/** struct ublksrv_ctrl_cmd (32 bytes): the command area of a control SQE (SQE128, byte 48). */
export const UblksrvCtrlCmd = {
  size: 32,
  dev_id: 0,
  queue_id: 4,
  len: 6,
  addr: 8,
  data: 16,
  dev_path_len: 24,
  pad: 26,
  reserved: 28,
} as const;

/** struct ublksrv_ctrl_dev_info (64 bytes). */
export const UblksrvCtrlDevInfo = {
  size: 64,
  nr_hw_queues: 0,
  queue_depth: 2,
  state: 4,
  pad0: 6,
  max_io_buf_bytes: 8,
  dev_id: 12,
  ublksrv_pid: 16,
  pad1: 20,
  flags: 24,
  ublksrv_flags: 32,
  owner_uid: 40,
  owner_gid: 44,
  reserved1: 48,
  reserved2: 56,
} as const;

/** struct ublksrv_io_desc (24 bytes): one per tag in the queue's read-only descriptor mmap. */
export const UblksrvIoDesc = { size: 24, op_flags: 0, nr_sectors: 4, nr_zones: 4, start_sector: 8, addr: 16 } as const;

/** struct ublksrv_io_cmd (16 bytes): the command area of an I/O SQE. */
export const UblksrvIoCmd = { size: 16, q_id: 0, tag: 2, result: 4, addr: 8, zone_append_lba: 8 } as const;

/** struct ublk_param_basic (32 bytes). */
export const UblkParamBasic = {
  size: 32,
  attrs: 0,
  logical_bs_shift: 4,
  physical_bs_shift: 5,
  io_opt_shift: 6,
  io_min_shift: 7,
  max_sectors: 8,
  chunk_sectors: 12,
  dev_sectors: 16,
  virt_boundary_mask: 24,
} as const;

/** struct ublk_param_discard (20 bytes). */
export const UblkParamDiscard = {
  size: 20,
  discard_alignment: 0,
  discard_granularity: 4,
  max_discard_sectors: 8,
  max_write_zeroes_sectors: 12,
  max_discard_segments: 16,
  reserved0: 18,
} as const;

/** struct ublk_param_devt (16 bytes): filled in by the kernel (GET_PARAMS). */
export const UblkParamDevt = { size: 16, char_major: 0, char_minor: 4, disk_major: 8, disk_minor: 12 } as const;

/** struct ublk_param_zoned (32 bytes). */
export const UblkParamZoned = {
  size: 32,
  max_open_zones: 0,
  max_active_zones: 4,
  max_zone_append_sectors: 8,
  reserved: 12,
} as const;

/** struct ublk_param_dma_align (8 bytes; newer than 6.12). */
export const UblkParamDmaAlign = { size: 8, alignment: 0, pad: 4 } as const;

/** struct ublk_param_segment (16 bytes; newer than 6.12). */
export const UblkParamSegment = {
  size: 16,
  seg_boundary_mask: 0,
  max_segment_size: 8,
  max_segments: 12,
  pad: 14,
} as const;

/** struct ublk_param_integrity (16 bytes; newer than 6.12). */
export const UblkParamIntegrity = {
  size: 16,
  flags: 0,
  max_integrity_segments: 4,
  interval_exp: 6,
  metadata_size: 7,
  pi_offset: 8,
  csum_type: 9,
  tag_size: 10,
  pad: 11,
} as const;

/**
 * struct ublk_params as the newest kernels define it (152 bytes). Older kernels accept it: they
 * clamp `len` to their own size and ignore the types they do not know.
 */
export const UblkParams = {
  size: 152,
  len: 0,
  types: 4,
  basic: 8,
  discard: 40,
  devt: 60,
  zoned: 76,
  dma: 108,
  seg: 120,
  integrity: 136,
} as const;

/** ublk_params.types (UBLK_PARAM_TYPE_*). */
export const UBLK_PARAM_TYPE = {
  BASIC: 1 << 0,
  DISCARD: 1 << 1,
  DEVT: 1 << 2,
  ZONED: 1 << 3,
  DMA_ALIGN: 1 << 4,
  SEGMENT: 1 << 5,
  INTEGRITY: 1 << 6,
} as const;

/** ublk_param_basic.attrs (UBLK_ATTR_*). */
export const UBLK_ATTR = { READ_ONLY: 1 << 0, ROTATIONAL: 1 << 1, VOLATILE_CACHE: 1 << 2, FUA: 1 << 3 } as const;

/** Legacy control opcodes (kernels before 6.4 knew only these; later ones with LEGACY_OPCODES). */
export const UBLK_CMD = {
  GET_QUEUE_AFFINITY: 0x01,
  GET_DEV_INFO: 0x02,
  ADD_DEV: 0x04,
  DEL_DEV: 0x05,
  START_DEV: 0x06,
  STOP_DEV: 0x07,
  SET_PARAMS: 0x08,
  GET_PARAMS: 0x09,
  START_USER_RECOVERY: 0x10,
  END_USER_RECOVERY: 0x11,
  GET_DEV_INFO2: 0x12,
} as const;

/** ioctl-encoded control opcodes (UBLK_U_CMD_*; UBLK_F_CMD_IOCTL_ENCODE, Linux 6.4+). */
export const UBLK_U_CMD = {
  GET_QUEUE_AFFINITY: IOR(0x01, UblksrvCtrlCmd.size),
  GET_DEV_INFO: IOR(0x02, UblksrvCtrlCmd.size),
  ADD_DEV: IOWR(0x04, UblksrvCtrlCmd.size),
  DEL_DEV: IOWR(0x05, UblksrvCtrlCmd.size),
  START_DEV: IOWR(0x06, UblksrvCtrlCmd.size),
  STOP_DEV: IOWR(0x07, UblksrvCtrlCmd.size),
  SET_PARAMS: IOWR(0x08, UblksrvCtrlCmd.size),
  GET_PARAMS: IOR(0x09, UblksrvCtrlCmd.size),
  START_USER_RECOVERY: IOWR(0x10, UblksrvCtrlCmd.size),
  END_USER_RECOVERY: IOWR(0x11, UblksrvCtrlCmd.size),
  GET_DEV_INFO2: IOR(0x12, UblksrvCtrlCmd.size),
  GET_FEATURES: IOR(0x13, UblksrvCtrlCmd.size),
  DEL_DEV_ASYNC: IOR(0x14, UblksrvCtrlCmd.size),
  UPDATE_SIZE: IOWR(0x15, UblksrvCtrlCmd.size),
  QUIESCE_DEV: IOWR(0x16, UblksrvCtrlCmd.size),
  TRY_STOP_DEV: IOWR(0x17, UblksrvCtrlCmd.size),
} as const;

/**
 * struct ublk_batch_io (7.0, UBLK_F_BATCH_IO): the command area of PREP_IO_CMDS, COMMIT_IO_CMDS
 * and FETCH_IO_CMDS. The SQE's addr and len name a buffer of nr_elem elements of elem_bytes each
 * (a struct ublk_elem_header, then the buffer address and the zone append LBA where `flags` say).
 */
export const UblkBatchIo = {
  size: 16,
  q_id: 0,
  flags: 2,
  nr_elem: 4,
  elem_bytes: 6,
  reserved: 7,
  reserved2: 8,
} as const;

/** Legacy I/O opcodes. */
export const UBLK_IO = { FETCH_REQ: 0x20, COMMIT_AND_FETCH_REQ: 0x21, NEED_GET_DATA: 0x22 } as const;

/** ioctl-encoded I/O opcodes (UBLK_U_IO_*). */
export const UBLK_U_IO = {
  FETCH_REQ: IOWR(0x20, UblksrvIoCmd.size),
  COMMIT_AND_FETCH_REQ: IOWR(0x21, UblksrvIoCmd.size),
  NEED_GET_DATA: IOWR(0x22, UblksrvIoCmd.size),
  REGISTER_IO_BUF: IOWR(0x23, UblksrvIoCmd.size),
  UNREGISTER_IO_BUF: IOWR(0x24, UblksrvIoCmd.size),
  /** UBLK_F_BATCH_IO (7.0): arm many tags at once (the per-tag FETCH_REQ's place). */
  PREP_IO_CMDS: IOWR(0x25, UblkBatchIo.size),
  /** UBLK_F_BATCH_IO: commit many results at once, each tag armed again for its next request. */
  COMMIT_IO_CMDS: IOWR(0x26, UblkBatchIo.size),
  /** UBLK_F_BATCH_IO: multishot; each completion writes the tags of new requests to a provided buffer. */
  FETCH_IO_CMDS: IOWR(0x27, UblkBatchIo.size),
} as const;

/** struct ublk_elem_header: one tag of a batch command; `result` is read by COMMIT_IO_CMDS only. */
export const UblkElemHeader = { size: 8, tag: 0, buf_index: 2, result: 4 } as const;

/** ublk_batch_io.flags (UBLK_BATCH_F_*): which optional u64s follow each element's header. */
export const UBLK_BATCH_F = { HAS_ZONE_LBA: 1 << 0, HAS_BUF_ADDR: 1 << 1, AUTO_BUF_REG_FALLBACK: 1 << 2 } as const;

/** CQE results of I/O commands: a request is ready, or the data must be fetched first. ABORT is -ENODEV. */
export const UBLK_IO_RES = { OK: 0, NEED_GET_DATA: 1, ABORT: -19 } as const;

/** Device feature flags (UBLK_F_*): bit numbers, since several lie above 2^31. */
export const UBLK_F_BIT = {
  SUPPORT_ZERO_COPY: 0,
  URING_CMD_COMP_IN_TASK: 1,
  NEED_GET_DATA: 2,
  USER_RECOVERY: 3,
  USER_RECOVERY_REISSUE: 4,
  UNPRIVILEGED_DEV: 5,
  CMD_IOCTL_ENCODE: 6,
  USER_COPY: 7,
  ZONED: 8,
  USER_RECOVERY_FAIL_IO: 9,
  UPDATE_SIZE: 10,
  AUTO_BUF_REG: 11,
  QUIESCE: 12,
  PER_IO_DAEMON: 13,
  BUF_REG_OFF_DAEMON: 14,
  BATCH_IO: 15,
  INTEGRITY: 16,
  SAFE_STOP_DEV: 17,
  NO_AUTO_PART_SCAN: 18,
  SHMEM_ZC: 19,
} as const;

/** Device feature flags as values (all below 2^20, so plain numbers hold them exactly). */
export const UBLK_F = Object.fromEntries(Object.entries(UBLK_F_BIT).map(([name, bit]) => [name, 2 ** bit])) as {
  readonly [K in keyof typeof UBLK_F_BIT]: number;
};

/** ublksrv_ctrl_dev_info.state (UBLK_S_DEV_*). */
export const UBLK_S_DEV = { DEAD: 0, LIVE: 1, QUIESCED: 2, FAIL_IO: 3 } as const;

/** The op in ublksrv_io_desc.op_flags bits 0-7 (UBLK_IO_OP_*). */
export const UBLK_IO_OP = {
  READ: 0,
  WRITE: 1,
  FLUSH: 2,
  DISCARD: 3,
  WRITE_SAME: 4,
  WRITE_ZEROES: 5,
  ZONE_OPEN: 10,
  ZONE_CLOSE: 11,
  ZONE_FINISH: 12,
  ZONE_APPEND: 13,
  ZONE_RESET_ALL: 14,
  ZONE_RESET: 15,
  REPORT_ZONES: 18,
} as const;

/** Request flags in ublksrv_io_desc.op_flags (UBLK_IO_F_*). */
export const UBLK_IO_F = {
  FAILFAST_DEV: 1 << 8,
  FAILFAST_TRANSPORT: 1 << 9,
  FAILFAST_DRIVER: 1 << 10,
  META: 1 << 11,
  FUA: 1 << 13,
  NOUNMAP: 1 << 15,
  SWAP: 1 << 16,
  /** AUTO_BUF_REG with FALLBACK: the kernel could not register this request's buffer. */
  NEED_REG_BUF: 1 << 17,
} as const;

/**
 * struct ublk_auto_buf_reg (6.16, UBLK_F_AUTO_BUF_REG): where the kernel registers a request's
 * pages in the queue's ring, carried in FETCH_REQ's and COMMIT_AND_FETCH_REQ's `addr` as
 * index | flags << 16.
 */
export const UblkAutoBufReg = { size: 8, index: 0, flags: 2, reserved0: 3, reserved1: 4 } as const;

/** ublk_auto_buf_reg.flags (UBLK_AUTO_BUF_REG_*). */
export const UBLK_AUTO_BUF_REG = { FALLBACK: 1 << 0 } as const;

/**
 * USER_COPY: a request's data is at this offset of /dev/ublkcN, plus
 * qid << UBLK_QID_OFF | tag << UBLK_TAG_OFF | byte offset within the request.
 */
export const UBLKSRV_IO_BUF_OFFSET = 0x80000000;
export const UBLK_IO_BUF_BITS = 25;
export const UBLK_TAG_OFF = 25;
export const UBLK_TAG_BITS = 16;
export const UBLK_QID_OFF = 41;
export const UBLK_QID_BITS = 12;
export const UBLK_MAX_QUEUE_DEPTH = 4096;
export const UBLK_MAX_NR_QUEUES = 4096;
export const UBLK_FEATURES_LEN = 8;
/** Byte stride between queues' descriptor arrays in the mmap of /dev/ublkcN: round_up(4096 * 24, page). */
export const UBLK_QUEUE_DESC_STRIDE = 98304;
