import { closeSync, openSync } from 'node:fs';
import { FALLOC_FL } from '../../../native-bindings/libc.js';
import { counterTable } from '../../blk/counters.js';
import type { Operations } from '../../blk/operations.js';
import type { QueueIo } from '../../blk/queue-io.js';
import { ReqFlag, ReqOp, type Request } from '../../blk/request.js';
import type { Target } from '../../blk/target.js';
import { openLoopBacking, resizeLoopBacking } from './backing.js';
import type { LoopConfig } from './config.js';

const SECTOR = 512;
const EIO = 5;
const EOPNOTSUPP = 95;

/** Per queue (hctx): its I/O channel, the file, and counters. */
export class LoopQueue {
  reads = 0;
  writes = 0;
  flushes = 0;
  discards = 0;
  writeZeroes = 0;
  /** Writes with FUA, each durable (RWF_DSYNC) before it completed. */
  fuaWrites = 0;
  errors = 0;
  /** Reads and writes the file did only in part, continued from where they stopped. */
  shortIos = 0;
  readBytes = 0;
  writeBytes = 0;

  constructor(
    readonly io: QueueIo,
    readonly fd: number,
    readonly offset: number,
    /** The request buffers are fixed buffers of the ring (no page pinning per I/O). */
    readonly fixedBuffers: boolean,
    /** /dev/zero: a read past the file's end is filled from it, as file I/O (zero copy has no buffer to fill). */
    readonly zeroFd: number,
  ) {}
}

/** Per request: how much of a read or write the file has done, for a short one's continuation. */
export class LoopRequest {
  done = 0;
}

/** Starts (or continues, from rq.data.done) the file I/O of a read or write. */
function startTransfer(hw: LoopQueue, rq: Request<LoopRequest>): void {
  const done = rq.data.done;
  const position = hw.offset + rq.startSector * SECTOR + done;
  if (rq.op === ReqOp.Read) hw.io.readIntoRequest(rq, hw.fd, rq.bytes - done, position, done);
  else hw.io.writeFromRequest(rq, hw.fd, rq.bytes - done, position, done, (rq.flags & ReqFlag.Fua) !== 0);
}

const operations: Operations<LoopConfig, undefined, LoopQueue, LoopRequest> = {
  newRequestData: () => new LoopRequest(),
  initHctx(config, _hctxIdx, io) {
    if (config.runtime === undefined)
      throw new Error('loop target: the file was not opened (open() runs in the daemon first)');
    return new LoopQueue(io, config.runtime.fd, config.offset, io.useFixedRequestBuffers(), openSync('/dev/zero', 'r'));
  },
  exitHctx: (hw) => closeSync(hw.zeroFd),
  queueRq(hw, _queue, rq) {
    const position = hw.offset + rq.startSector * SECTOR;
    switch (rq.op) {
      case ReqOp.Read:
        hw.reads++;
        hw.readBytes += rq.bytes;
        rq.data.done = 0;
        startTransfer(hw, rq);
        return;
      case ReqOp.Write:
        hw.writes++;
        hw.writeBytes += rq.bytes;
        if ((rq.flags & ReqFlag.Fua) !== 0) hw.fuaWrites++;
        rq.data.done = 0;
        startTransfer(hw, rq); // FUA: RWF_DSYNC, durable before it completes
        return;
      case ReqOp.Flush:
        hw.flushes++;
        hw.io.syncFile(rq, hw.fd, true);
        return;
      case ReqOp.Discard:
        hw.discards++;
        hw.io.fallocateFile(rq, hw.fd, FALLOC_FL.PUNCH_HOLE | FALLOC_FL.KEEP_SIZE, position, rq.bytes);
        return;
      case ReqOp.WriteZeroes:
        hw.writeZeroes++;
        // NOUNMAP: the range must stay allocated (zero it); otherwise a hole reads as zeros too.
        hw.io.fallocateFile(
          rq,
          hw.fd,
          (rq.flags & ReqFlag.NoUnmap) !== 0
            ? FALLOC_FL.ZERO_RANGE | FALLOC_FL.KEEP_SIZE
            : FALLOC_FL.PUNCH_HOLE | FALLOC_FL.KEEP_SIZE,
          position,
          rq.bytes,
        );
        return;
      default:
        rq.end(-EOPNOTSUPP);
    }
  },
  complete(rq, hw) {
    const result = rq.ioResult;
    if (result < 0) {
      hw.errors++;
      rq.end(result);
      return;
    }
    if (rq.op !== ReqOp.Read && rq.op !== ReqOp.Write) {
      rq.end(0); // flush, discard, write-zeroes: done
      return;
    }
    const done = rq.data.done + result;
    if (done >= rq.bytes) {
      rq.end(rq.bytes);
      return;
    }
    if (result === 0) {
      // The file ends inside the request (it shrank under us): a read sees zeros, as the kernel
      // loop driver gives (read from /dev/zero into the rest: it completes here, whole); a write
      // cannot go on.
      if (rq.op === ReqOp.Read) {
        hw.io.readIntoRequest(rq, hw.zeroFd, rq.bytes - done, 0, done);
      } else {
        hw.errors++;
        rq.end(-EIO);
      }
      return;
    }
    hw.shortIos++;
    rq.data.done = done;
    startTransfer(hw, rq);
  },
};

/** The counters `stats` and `list -v` show for each queue. */
const loopCounters = counterTable([
  'reads',
  'writes',
  'flushes',
  'discards',
  'write_zeroes',
  'fua_writes',
  'errors',
  'short_ios',
  'read_bytes',
  'write_bytes',
  'fixed_buffers',
]);

export const loopTarget: Target<LoopConfig, LoopConfig, undefined, LoopQueue, LoopRequest> = {
  name: 'loop',
  type: 2,
  open(config, devId, reattach) {
    const opened = openLoopBacking(config, devId, reattach);
    let current = opened.config;
    return {
      config: current,
      ownedFiles: [],
      close: () => opened.close(),
      resize(sizeBytes, truncate) {
        current = resizeLoopBacking(current, sizeBytes, truncate);
        return current;
      },
    };
  },
  disk: (config) => ({
    sizeBytes: config.sizeBytes,
    logicalBlockSize: config.logicalBlockSize,
    readOnly: config.readOnly,
    // The page cache, a file's allocation or the device's own cache lie between a write and the
    // medium: filesystems send FLUSH and FUA, which reach the backing as fdatasync and RWF_DSYNC.
    volatileCache: true,
    fua: true,
    ...(config.discard === true
      ? {
          discard: {
            granularity: config.logicalBlockSize,
            maxSectors: 2 ** 21,
            maxWriteZeroesSectors: 2 ** 21,
            maxSegments: 1,
          },
        }
      : {}),
  }),
  tagSetData: (config) => config,
  queueData: () => undefined,
  operations,
  statistics: {
    names: loopCounters.names,
    read(hw, out) {
      out[loopCounters.at.reads] = hw.reads;
      out[loopCounters.at.writes] = hw.writes;
      out[loopCounters.at.flushes] = hw.flushes;
      out[loopCounters.at.discards] = hw.discards;
      out[loopCounters.at.write_zeroes] = hw.writeZeroes;
      out[loopCounters.at.fua_writes] = hw.fuaWrites;
      out[loopCounters.at.errors] = hw.errors;
      out[loopCounters.at.short_ios] = hw.shortIos;
      out[loopCounters.at.read_bytes] = hw.readBytes;
      out[loopCounters.at.write_bytes] = hw.writeBytes;
      out[loopCounters.at.fixed_buffers] = hw.fixedBuffers ? 1 : 0;
    },
  },
};
