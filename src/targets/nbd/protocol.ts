// The NBD protocol's numbers (NetworkBlockDevice/nbd doc/proto.md): the fixed-newstyle
// handshake, the option haggling and the transmission phase. All integers go big-endian.

/** 'NBDMAGIC' and 'IHAVEOPT': the server's greeting, then the magic of each client option. */
export const NBD_MAGIC_HIGH = 0x4e42444d;
export const NBD_MAGIC_LOW = 0x41474943;
export const IHAVEOPT_HIGH = 0x49484156;
export const IHAVEOPT_LOW = 0x454f5054;
/** The magic of an option reply (0x3e889045565a9). */
export const OPTION_REPLY_HIGH = 0x0003e889;
export const OPTION_REPLY_LOW = 0x045565a9;

/** Handshake flags (server) and client flags. */
export const HANDSHAKE = { FIXED_NEWSTYLE: 1, NO_ZEROES: 2 } as const;

export const NBD_OPT = { EXPORT_NAME: 1, ABORT: 2, GO: 7, STRUCTURED_REPLY: 8 } as const;
export const NBD_REP = { ACK: 1, INFO: 3 } as const;
/** Option reply errors have bit 31 set. */
export const NBD_REP_ERROR_BIT = 0x8000_0000;
export const NBD_REP_ERROR: Readonly<Record<number, string>> = {
  1: 'the server does not know this option (NBD_REP_ERR_UNSUP)',
  2: 'the server refuses by its policy (NBD_REP_ERR_POLICY)',
  3: 'the server calls the request invalid (NBD_REP_ERR_INVALID)',
  4: 'the server cannot on this platform (NBD_REP_ERR_PLATFORM)',
  5: 'the server requires TLS, which tsublk does not speak yet (NBD_REP_ERR_TLS_REQD)',
  6: 'the server has no such export (NBD_REP_ERR_UNKNOWN)',
  7: 'the server is shutting down (NBD_REP_ERR_SHUTDOWN)',
  8: 'the server requires block sizes (NBD_REP_ERR_BLOCK_SIZE_REQD)',
  9: 'the request is too big for the server (NBD_REP_ERR_TOO_BIG)',
};
export const NBD_INFO = { EXPORT: 0, BLOCK_SIZE: 3 } as const;

/** Transmission flags of an export. */
export const NBD_FLAG = {
  HAS_FLAGS: 1 << 0,
  READ_ONLY: 1 << 1,
  SEND_FLUSH: 1 << 2,
  SEND_FUA: 1 << 3,
  ROTATIONAL: 1 << 4,
  SEND_TRIM: 1 << 5,
  SEND_WRITE_ZEROES: 1 << 6,
  CAN_MULTI_CONN: 1 << 8,
} as const;

export const NBD_REQUEST_MAGIC = 0x25609513;
export const NBD_SIMPLE_REPLY_MAGIC = 0x67446698;
/** A request: magic u32, flags u16, type u16, cookie u64, offset u64, length u32. */
export const REQUEST_BYTES = 28;
/** A simple reply: magic u32, error u32, cookie u64 (a read's data follows). */
export const SIMPLE_REPLY_BYTES = 16;

/**
 * A structured reply chunk (after NBD_OPT_STRUCTURED_REPLY): magic u32, flags u16, type u16,
 * cookie u64, payload length u32; its payload follows. A request's reply is one or more chunks,
 * the last with NBD_REPLY_FLAG_DONE.
 */
export const NBD_STRUCTURED_REPLY_MAGIC = 0x668e33ef;
export const STRUCTURED_REPLY_BYTES = 20;
export const NBD_REPLY_FLAG_DONE = 1;
/** Chunk types; bit 15 marks an error chunk, whose payload starts with error u32, message length u16. */
export const NBD_REPLY_TYPE = { NONE: 0, OFFSET_DATA: 1, OFFSET_HOLE: 2, ERROR: 0x8001, ERROR_OFFSET: 0x8002 } as const;
export const NBD_REPLY_TYPE_ERROR_BIT = 0x8000;

export const NBD_CMD = { READ: 0, WRITE: 1, DISC: 2, FLUSH: 3, TRIM: 4, WRITE_ZEROES: 6 } as const;
export const NBD_CMD_FLAG = { FUA: 1 << 0, NO_HOLE: 1 << 1 } as const;
