// A latency injector: serves a file (as the loop target does, through the queue's own io_uring)
// and holds every completion back --delay_us microseconds, to see how a filesystem or database
// behaves on a slow disk. It shows a target's own options (validated by tsublk against the
// table), its plan and open, asynchronous file I/O through QueueIo, and `poll` for completions
// that come due without a kernel event. Nothing is allocated per request.
//   sudo tsublk add -t ./dist/examples/delay-target.js --file disk.img --delay_us 2000
import { closeSync, existsSync, openSync, statSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { type QueueIo, type Request, type Target, UserError } from 'tsublk';

interface DelayConfig {
  readonly sizeBytes: number;
  readonly logicalBlockSize: number;
  readonly file: string;
  readonly delayUs: number;
  /** Set by open in the daemon (its queues are threads of the same process): the file's fd. */
  readonly fd?: number;
}

/** Each queue's own: its I/O channel, and the requests whose file I/O is done, in arrival order, with the time each may end. */
class DelayQueue {
  readonly tags: Int32Array;
  readonly results: Int32Array;
  readonly dueMs: Float64Array;
  /** Each tag's Request (one object per tag, reused for every I/O), for poll to end. */
  readonly requests: Array<Request<undefined> | undefined>;
  head = 0;
  count = 0;

  constructor(
    readonly io: QueueIo,
    readonly fd: number,
    readonly delayMs: number,
  ) {
    this.tags = new Int32Array(io.depth);
    this.results = new Int32Array(io.depth);
    this.dueMs = new Float64Array(io.depth);
    this.requests = new Array<Request<undefined> | undefined>(io.depth).fill(undefined);
  }
}

const READ = 0;
const WRITE = 1;
const FLUSH = 2;
const EIO = 5;
const EOPNOTSUPP = 95;

const target: Target<DelayConfig, DelayConfig, undefined, DelayQueue, undefined> = {
  name: 'delay',
  type: 101,
  options: [
    {
      name: 'file',
      kind: 'string',
      describe: 'the file to serve',
      valid: (v) => v !== '',
      fix: 'name it: --file disk.img',
    },
    {
      name: 'delay_us',
      kind: 'number',
      describe: 'microseconds every request is held after its I/O',
      defaultValue: 1000,
      valid: (v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 10_000_000,
      fix: 'use --delay_us between 0 and 10000000 (10 s)',
    },
  ],
  plan(values, common) {
    if (values['file'] === undefined) throw new UserError('the delay target serves a file: add --file FILE');
    const file = path.resolve(String(values['file']));
    if (!existsSync(file) || !statSync(file).isFile())
      throw new UserError(`${file} is not a file: give --file an existing regular file`);
    const sizeBytes =
      common.sizeBytes ?? Math.floor(statSync(file).size / common.logicalBlockSize) * common.logicalBlockSize;
    // File I/O straight into the request's buffer: the copy data path's per-tag buffers, or with
    // -z (zero copy) the request's own pages, which the kernel registers in the queue's ring.
    return {
      config: {
        sizeBytes,
        logicalBlockSize: common.logicalBlockSize,
        file,
        delayUs: Number(values['delay_us'] ?? 1000),
      },
      dataPath: 'copy',
      zeroCopy: true, // it touches request data only through QueueIo's readIntoRequest/writeFromRequest
    };
  },
  open(config) {
    const fd = openSync(config.file, 'r+');
    return { config: { ...config, fd }, ownedFiles: [], close: () => closeSync(fd) };
  },
  disk: (config) => ({ sizeBytes: config.sizeBytes, logicalBlockSize: config.logicalBlockSize, volatileCache: true }),
  tagSetData: (config) => config,
  queueData: () => undefined,
  operations: {
    newRequestData: () => undefined,
    initHctx: (config, _queue, io) => new DelayQueue(io, config.fd ?? -1, config.delayUs / 1000),
    exitHctx: () => undefined,
    queueRq(hw, _queueData, rq) {
      const position = rq.startSector * 512;
      hw.requests[rq.tag] = rq;
      if (rq.op === READ) hw.io.readIntoRequest(rq, hw.fd, rq.bytes, position, 0);
      else if (rq.op === WRITE) hw.io.writeFromRequest(rq, hw.fd, rq.bytes, position, 0, false);
      else if (rq.op === FLUSH) hw.io.syncFile(rq, hw.fd, true);
      else rq.end(-EOPNOTSUPP);
    },
    // The file I/O is done: hold the request until its time comes (poll ends it).
    complete(rq, hw) {
      const result = rq.ioResult < 0 ? rq.ioResult : rq.op === FLUSH ? 0 : rq.ioResult === rq.bytes ? rq.bytes : -EIO;
      const slot = (hw.head + hw.count) % hw.tags.length;
      hw.tags[slot] = rq.tag;
      hw.results[slot] = result;
      hw.dueMs[slot] = performance.now() + hw.delayMs;
      hw.count++;
    },
    // Ends what is due; returns nanoseconds until the next one (-1: nothing held).
    poll(hw) {
      const now = performance.now();
      while (hw.count > 0) {
        const due = hw.dueMs[hw.head] ?? 0;
        if (due > now) return Math.ceil((due - now) * 1e6);
        hw.requests[hw.tags[hw.head] ?? 0]?.end(hw.results[hw.head] ?? 0);
        hw.head = (hw.head + 1) % hw.tags.length;
        hw.count--;
      }
      return -1;
    },
  },
};

export default target;
