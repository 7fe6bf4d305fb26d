import type { Operations } from '../blk/operations.js';
import { ReqOp } from '../blk/request.js';
import type { Target } from './target.js';

/** The null target's configuration: a disk of `sizeBytes` that stores nothing. */
export interface NullConfig {
  readonly sizeBytes: number;
  readonly logicalBlockSize: number;
}

/** Per-queue counters: the hctx private data, updated by queueRq and shown by `list -v`. */
export class NullQueueStats {
  reads = 0;
  writes = 0;
  flushes = 0;
  discards = 0;
  others = 0;
  readBytes = 0;
  writeBytes = 0;

  constructor(readonly queueId: number) {}
}

const operations: Operations<NullConfig, undefined, NullQueueStats, undefined> = {
  newRequestData: () => undefined,
  initHctx: (_config, hctxIdx) => new NullQueueStats(hctxIdx),
  exitHctx: () => undefined,
  queueRq(stats, _queue, rq) {
    // Like null_blk with irqmode 0: every request completes at once, in full.
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
    rq.end(rq.bytes);
  },
};

export const nullTarget: Target<NullConfig, NullConfig, undefined, NullQueueStats, undefined> = {
  name: 'null',
  type: 0,
  disk: (config) => ({ sizeBytes: config.sizeBytes, logicalBlockSize: config.logicalBlockSize }),
  tagSetData: (config) => config,
  queueData: () => undefined,
  operations,
  statistics: {
    names: ['reads', 'writes', 'flushes', 'discards', 'others', 'read_bytes', 'write_bytes'],
    read(stats, out) {
      out[0] = stats.reads;
      out[1] = stats.writes;
      out[2] = stats.flushes;
      out[3] = stats.discards;
      out[4] = stats.others;
      out[5] = stats.readBytes;
      out[6] = stats.writeBytes;
    },
  },
};
