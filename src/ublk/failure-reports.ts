import type { Request } from '../blk/request.js';

const REPORTS_PER_WINDOW = 10;
const REPORT_WINDOW_MS = 5000;

/** Why a request an async queueRq returned from fails: its promise never settles in a queue thread. */
export const LEFT_OPEN_BY_ASYNC_QUEUE_RQ =
  'queueRq returned a value (an async function?) and left the request open: queue callbacks run synchronously in the queue thread; end the request with rq.end() or start I/O through QueueIo and end it in complete()';

/**
 * Passes on target failures at most REPORTS_PER_WINDOW per REPORT_WINDOW_MS, like the kernel's
 * printk_ratelimit: a target failing every request must not turn its queue into a log writer.
 * The first report after a quiet spell says how many went unreported.
 */
export class FailureReports {
  private windowStart = 0;
  private reportsInWindow = 0;
  private unreported = 0;

  constructor(private readonly sink: (detail: string) => void) {}

  report(detail: string): void {
    const now = Date.now();
    if (now - this.windowStart >= REPORT_WINDOW_MS) {
      this.windowStart = now;
      this.reportsInWindow = 0;
    }
    if (this.reportsInWindow >= REPORTS_PER_WINDOW) {
      this.unreported++;
      return;
    }
    this.reportsInWindow++;
    const skipped = this.unreported;
    this.unreported = 0;
    this.sink(
      skipped === 0
        ? detail
        : `(${skipped} more target failures were not logged; stats counts them all as target_failures) ${detail}`,
    );
  }

  /** A target callback of queue `queueId` threw for `rq` (`failed`: the request failed with EIO). */
  targetFailed(queueId: number, callback: string, rq: Request<unknown>, failed: boolean, error: unknown): void {
    const what = `op ${rq.op} sector ${rq.startSector} sectors ${rq.sectors}`;
    const stack = error instanceof Error ? (error.stack ?? error.message) : String(error);
    this.report(
      `queue ${queueId}: the target's ${callback} threw for tag ${rq.tag} (${what})${failed ? '; the request failed with EIO' : ''}: ${stack}`,
    );
  }
}
