import { appendFileSync } from 'node:fs';

/** Everything a queue's worker needs, as plain data (it crosses postMessage). */
export interface QueueSetup {
  readonly devId: number;
  readonly queueId: number;
  readonly depth: number;
  /** /dev/ublkcN, opened once by the daemon (fds are process-wide; a second open is EBUSY). */
  readonly charFd: number;
  readonly maxIoBufBytes: number;
  /** UBLK_F_USER_COPY: no per-tag buffers; data moves by pread/pwrite on /dev/ublkcN. */
  readonly userCopy: boolean;
  /**
   * UBLK_F_AUTO_BUF_REG: no per-tag buffers either; the kernel registers each request's pages as
   * fixed buffer `tag` of the queue's ring, and the target's file I/O uses it (zero copy).
   */
  readonly zeroCopy: boolean;
  /** UBLK_F_BATCH_IO: requests come and results go in batches of tags (batch-commands.ts). */
  readonly batchIo: boolean;
  /** UBLK_F_ZONED: a zone append's commit says where its data went. */
  readonly zoned: boolean;
  readonly target: string;
  readonly targetConfig: unknown;
  /** CPUs to pin the worker to (empty: leave it alone). */
  readonly cpus: readonly number[];
  /** Placement auto: the CPUs the worker moves to while it does not spin, back to `cpus` when it does; null: it stays. */
  readonly cpusAtDepth: readonly number[] | null;
  /** Int32 flags shared with the daemon: [0] started, [1] stop. */
  readonly flags: SharedArrayBuffer;
  /** The device's stats file (see stats.ts), or -1 for none. */
  readonly statsFd: number;
  /**
   * Which of the queue's tags this thread serves: those with tag % shares === share (one share
   * of all tags, unless UBLK_F_PER_IO_DAEMON spreads them over several threads).
   */
  readonly share: number;
  readonly shares: number;
  /** This thread's slot of the stats file, and how many there are (one per thread). */
  readonly slot: number;
  readonly slots: number;
}

export const QueueFlag = { Started: 0, Stop: 1 } as const;

/** TSUBLK_HCTX_TRACE=FILE: a line per initHctx and exitHctx ("init 0", "exit 0"), for tests that count them. */
const hctxTrace = process.env['TSUBLK_HCTX_TRACE'];

export function traceHctx(event: 'init' | 'exit', queueId: number): void {
  if (hctxTrace !== undefined && hctxTrace !== '') appendFileSync(hctxTrace, `${event} ${queueId}\n`);
}
