import type { Operations } from '../blk/operations.js';
import { ReqOp, type Request } from '../blk/request.js';
import { IrqMode, PendingCompletions, nowNs } from './null-completions.js';
import type { Target } from './target.js';

/** The null target's configuration: a disk of `sizeBytes` that stores nothing (null_blk's attributes). */
export interface NullConfig {
  readonly sizeBytes: number;
  readonly logicalBlockSize: number;
  /** When requests end (null_blk's irqmode): 0 at once, 1 after their batch, 2 after completionNsec. */
  readonly irqmode?: IrqMode;
  /** irqmode 2's delay per request (null_blk's completion_nsec; default 10000). */
  readonly completionNsec?: number;
  /** Fault injection: this queue's initHctx fails (-1: none). */
  readonly initHctxFail?: number;
}

/** NullConfig with every default filled in: what each queue works from. */
export type NullSettings = Required<NullConfig>;

export const NULL_DEFAULTS = { irqmode: IrqMode.None, completionNsec: 10_000, initHctxFail: -1 } as const;

export function nullSettings(config: NullConfig): NullSettings {
  return { ...NULL_DEFAULTS, ...config };
}

/**
 * The hctx private data: per-queue counters, shown by `list -v` and `stats`, and the requests
 * this queue has served but not yet ended (irqmode 1 and 2).
 */
export class NullQueueStats {
  reads = 0;
  writes = 0;
  flushes = 0;
  discards = 0;
  others = 0;
  readBytes = 0;
  writeBytes = 0;
  /** Requests held for irqmode 1 (until commitRqs) or 2 (until their time). */
  readonly pending: PendingCompletions;

  constructor(
    readonly queueId: number,
    readonly settings: NullSettings,
    depth: number,
  ) {
    this.pending = new PendingCompletions(depth);
  }
}

function count(stats: NullQueueStats, rq: Request<undefined>): void {
  switch (rq.op) {
    case ReqOp.Read:
      stats.reads++;
      stats.readBytes += rq.bytes;
      break;
    case ReqOp.Write:
      stats.writes++;
      stats.writeBytes += rq.bytes;
      break;
    case ReqOp.Flush:
      stats.flushes++;
      break;
    case ReqOp.Discard:
    case ReqOp.WriteZeroes:
      stats.discards++;
      break;
    default:
      stats.others++;
  }
}

const operations: Operations<NullSettings, undefined, NullQueueStats, undefined> = {
  newRequestData: () => undefined,
  initHctx(settings, hctxIdx, io) {
    if (settings.initHctxFail === hctxIdx) throw new Error(`initHctx of queue ${hctxIdx} fails on purpose (--init_hctx_fail ${hctxIdx})`);
    return new NullQueueStats(hctxIdx, settings, io.depth);
  },
  exitHctx(stats) {
    stats.pending.endDue(Infinity); // nothing stays with a queue that goes away
  },
  queueRq(stats, _queue, rq) {
    count(stats, rq);
    const settings = stats.settings;
    if (settings.irqmode === IrqMode.None) rq.end(rq.bytes);
    else if (settings.irqmode === IrqMode.Batch) stats.pending.add(rq, rq.bytes, 0);
    else stats.pending.add(rq, rq.bytes, nowNs() + settings.completionNsec);
  },
  commitRqs(stats) {
    if (stats.settings.irqmode === IrqMode.Batch) stats.pending.endDue(Infinity);
  },
  poll(stats) {
    // irqmode 2: end what is due; the queue loop waits no longer than until the next one.
    return stats.pending.size === 0 ? -1 : stats.pending.nextWait(nowNs());
  },
};

export const nullTarget: Target<NullConfig, NullSettings, undefined, NullQueueStats, undefined> = {
  name: 'null',
  type: 0,
  // Nothing to acquire: the configuration is completed with null_blk's defaults, so the run
  // record, `list -v` and `list --json` show every setting the queues work with.
  open(config, _devId, _reattach, shape) {
    const settings = nullSettings(config);
    if (settings.initHctxFail >= shape.queues) throw new Error(`bad --init_hctx_fail ${settings.initHctxFail}: the device has ${shape.queues} queue(s) (the kernel gives at most one per CPU); use an index below ${shape.queues}`);
    return { config: settings, ownedFiles: [], close: () => undefined };
  },
  disk: (config) => ({ sizeBytes: config.sizeBytes, logicalBlockSize: config.logicalBlockSize }),
  tagSetData: nullSettings,
  queueData: () => undefined,
  operations,
  statistics: {
    names: ['reads', 'writes', 'flushes', 'discards', 'others', 'read_bytes', 'write_bytes', 'pending'],
    read(stats, out) {
      out[0] = stats.reads;
      out[1] = stats.writes;
      out[2] = stats.flushes;
      out[3] = stats.discards;
      out[4] = stats.others;
      out[5] = stats.readBytes;
      out[6] = stats.writeBytes;
      out[7] = stats.pending.size;
    },
  },
};
