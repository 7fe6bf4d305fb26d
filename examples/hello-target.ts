// The smallest useful target: a disk that reads zeros and forgets writes (like null_blk), and
// counts per hardware queue what it served. It shows the blk-mq shape tsublk follows: initHctx
// builds each queue's private data (HwData) in that queue's own thread, queueRq receives exactly
// that object, and `statistics` publishes it to `tsublk stats`.
//   sudo tsublk add -t ./dist/examples/hello-target.js -q 2 --size 1G
import { type Target, counterTable } from 'tsublk';

/** Each queue's own counters: one queue's thread alone touches them, so no locking. */
interface HelloQueue {
  readonly queue: number;
  reads: number;
  writes: number;
}

const READ = 0; // ReqOp.Read: ublk's numbering, which tsublk keeps
const counters = counterTable(['reads', 'writes']);

const target: Target<{ sizeBytes: number; logicalBlockSize: number }, undefined, undefined, HelloQueue, undefined> = {
  name: 'hello',
  type: 100,
  disk: (config) => config,
  tagSetData: () => undefined,
  queueData: () => undefined,
  operations: {
    newRequestData: () => undefined,
    initHctx: (_tagSet, queue) => ({ queue, reads: 0, writes: 0 }),
    exitHctx: () => undefined,
    queueRq(hw, _queueData, rq) {
      if (rq.op === READ) {
        hw.reads++;
        rq.buffer.fill(0, 0, rq.bytes); // the copy data path: this is what the reader gets
      } else hw.writes++;
      rq.end(rq.bytes);
    },
  },
  // The per-tag buffer is where a read's data goes: ask for the copy data path.
  plan: (_values, common) => ({
    config: { sizeBytes: common.sizeBytes ?? 2 ** 30, logicalBlockSize: common.logicalBlockSize },
    dataPath: 'copy',
  }),
  statistics: {
    names: counters.names,
    read(hw, out) {
      out[counters.at.reads] = hw.reads;
      out[counters.at.writes] = hw.writes;
    },
  },
};

export default target;
