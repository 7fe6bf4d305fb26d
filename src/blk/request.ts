/** Block request operations, numbered as ublk numbers them (UBLK_IO_OP_*), so no translation is needed. */
export const ReqOp = {
  Read: 0,
  Write: 1,
  Flush: 2,
  Discard: 3,
  WriteSame: 4,
  WriteZeroes: 5,
  ZoneOpen: 10,
  ZoneClose: 11,
  ZoneFinish: 12,
  ZoneAppend: 13,
  ZoneResetAll: 14,
  ZoneReset: 15,
  ReportZones: 18,
} as const;
export type ReqOp = (typeof ReqOp)[keyof typeof ReqOp];

/** Request flags (ublk's UBLK_IO_F_* bits of op_flags). */
export const ReqFlag = {
  FailfastDev: 1 << 8,
  FailfastTransport: 1 << 9,
  FailfastDriver: 1 << 10,
  Meta: 1 << 11,
  Fua: 1 << 13,
  NoUnmap: 1 << 15,
  Swap: 1 << 16,
} as const;

/** Who ends a request: the queue that delivered it (it turns the result into a ublk commit). */
export interface RequestCompleter {
  completeRequest(tag: number, result: number): void;
}

/**
 * One block request, as the kernel's `struct request`: one object per tag, made once when the
 * queue is set up and refilled for every I/O (the hot path allocates nothing). `data` is the
 * target's per-request private data, built once per tag by `Operations.newRequestData`.
 */
export class Request<RequestData = undefined> {
  /** ReqOp. */
  op: number = ReqOp.Read;
  /** ReqFlag bits. */
  flags = 0;
  /** First 512-byte sector. */
  startSector = 0;
  /** Length in 512-byte sectors. */
  sectors = 0;
  /** The result of the target's last asynchronous I/O for this request (see QueueIo), as `complete` sees it. */
  ioResult = 0;
  /** ZONE_APPEND: the first sector the data was written at, which the commit reports to the kernel. */
  zoneAppendSector = 0;

  constructor(
    /** The hardware queue (hctx) index. */
    readonly queueId: number,
    /** The tag: this request's slot in its queue, 0 ≤ tag < depth. */
    readonly tag: number,
    /**
     * The request's data buffer in copy mode (the kernel fills it for writes and reads it back
     * for reads), empty with user copy. SAFETY: a view of the queue's buffer memory, which lives
     * until the queue is torn down, after its last request has ended.
     */
    readonly buffer: Uint8Array,
    /** The buffer's address (0 with user copy). */
    readonly bufferAddress: number,
    readonly data: RequestData,
    private readonly completer: RequestCompleter,
  ) {}

  /** Length in bytes. */
  get bytes(): number {
    return this.sectors * 512;
  }

  /** Ends the request: `result` is the byte count done, or a negative errno. Call it exactly once. */
  end(result: number): void {
    this.completer.completeRequest(this.tag, result);
  }
}
