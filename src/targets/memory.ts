import { FALLOC_FL, fallocate } from '../../native-bindings/libc.js';
import type { Operations } from '../blk/operations.js';
import type { QueueIo } from '../blk/queue-io.js';
import { ReqFlag, ReqOp, type Request } from '../blk/request.js';
import { openBacking } from './memory-backing.js';
import type { Target } from './target.js';

/** The memory target's configuration; `open` fills in the rest. */
export interface MemoryConfig {
  /** 0: the size of the existing --backing file. */
  readonly sizeBytes: number;
  readonly logicalBlockSize: number;
  /** A user's --backing file, or null for /dev/shm/tsublk-<id>. */
  readonly backing: string | null;
  /** Set by open: the backing is on a filesystem (not tmpfs), so FLUSH and FUA reach it. */
  readonly persistent?: boolean;
  /** Set by open, for the queues of this process only (never recorded). */
  readonly runtime?: { readonly fd: number; readonly address: number };
}

/** Per queue (hctx): its I/O channel, the shared backing's fd and address, and counters. */
export class MemoryQueue {
  reads = 0;
  writes = 0;
  flushes = 0;
  discards = 0;
  errors = 0;
  readBytes = 0;
  writeBytes = 0;

  constructor(
    readonly io: QueueIo,
    readonly fd: number,
    readonly address: number,
    readonly persistent: boolean,
  ) {}
}

/** Per request: the target I/Os still out, the bytes the data I/O must move, the first error. */
export class MemoryRequest {
  pending = 0;
  expected = 0;
  error = 0;
}

const EIO = 5;
const EOPNOTSUPP = 95;
const SECTOR = 512;

/** Queues the request's data movement: user copy to/from the mapping, or file I/O on the per-tag buffer. */
function transfer(hw: MemoryQueue, rq: Request<MemoryRequest>, write: boolean): void {
  const position = rq.startSector * SECTOR;
  const length = rq.bytes;
  // With user copy the request has no buffer (address 0): its pages are reached through /dev/ublkcN.
  if (rq.bufferAddress === 0) {
    if (write) hw.io.copyFromRequest(rq, hw.address + position, length, 0);
    else hw.io.copyToRequest(rq, hw.address + position, length, 0);
  } else if (write) hw.io.writeFile(rq, hw.fd, rq.bufferAddress, length, position);
  else hw.io.readFile(rq, hw.fd, rq.bufferAddress, length, position);
  rq.data.expected = length;
  rq.data.pending = 1;
  rq.data.error = 0;
}

const operations: Operations<MemoryConfig, undefined, MemoryQueue, MemoryRequest> = {
  newRequestData: () => new MemoryRequest(),
  initHctx(config, _hctxIdx, io) {
    if (config.runtime === undefined) throw new Error('memory target: the backing was not opened (open() runs in the daemon first)');
    return new MemoryQueue(io, config.runtime.fd, config.runtime.address, config.persistent === true);
  },
  exitHctx: () => undefined,
  queueRq(hw, _queue, rq) {
    switch (rq.op) {
      case ReqOp.Read:
        hw.reads++;
        hw.readBytes += rq.bytes;
        transfer(hw, rq, false);
        return;
      case ReqOp.Write:
        hw.writes++;
        hw.writeBytes += rq.bytes;
        transfer(hw, rq, true);
        if ((rq.flags & ReqFlag.Fua) !== 0 && hw.persistent) {
          // FUA: durable before it completes; the sync starts only once the data is in place.
          hw.io.linkLast();
          hw.io.syncFile(rq, hw.fd, true);
          rq.data.pending = 2;
        }
        return;
      case ReqOp.Flush:
        hw.flushes++;
        if (!hw.persistent) {
          rq.end(0); // memory: nothing volatile lies between a write and the store
          return;
        }
        rq.data.expected = 0;
        rq.data.pending = 1;
        rq.data.error = 0;
        hw.io.syncFile(rq, hw.fd, false);
        return;
      case ReqOp.Discard:
      case ReqOp.WriteZeroes:
        hw.discards++;
        try {
          // Reads of the range return zeros and its memory goes back to the system.
          fallocate(hw.fd, FALLOC_FL.PUNCH_HOLE | FALLOC_FL.KEEP_SIZE, rq.startSector * SECTOR, rq.bytes);
          rq.end(0);
        } catch {
          hw.errors++;
          rq.end(-EIO);
        }
        return;
      default:
        rq.end(-EOPNOTSUPP);
    }
  },
  complete(rq, hw) {
    const data = rq.data;
    const result = rq.ioResult;
    if (data.error === 0) {
      if (result < 0) data.error = result;
      else if (result !== data.expected) data.error = -EIO; // short: the store ended early
    }
    data.expected = 0; // what follows the data movement is a sync, which returns 0
    if (--data.pending > 0) return;
    if (data.error !== 0) hw.errors++;
    rq.end(data.error !== 0 ? data.error : rq.op === ReqOp.Flush ? 0 : rq.bytes);
  },
};

export const memoryTarget: Target<MemoryConfig, MemoryConfig, undefined, MemoryQueue, MemoryRequest> = {
  name: 'memory',
  type: 1,
  open(config, devId) {
    const opened = openBacking(config.backing, config.sizeBytes, devId);
    const { backing } = opened;
    return {
      config: { ...config, sizeBytes: backing.sizeBytes, backing: backing.path, persistent: backing.persistent, runtime: { fd: backing.fd, address: backing.address } },
      ownedFiles: backing.owned ? [backing.path] : [],
      close: (deleted) => opened.close(deleted),
    };
  },
  disk: (config) => ({
    sizeBytes: config.sizeBytes,
    logicalBlockSize: config.logicalBlockSize,
    // A write cache, so filesystems send FLUSH and FUA (which a file backing honours).
    volatileCache: true,
    fua: true,
    discard: { granularity: 4096, maxSectors: 2 ** 21, maxWriteZeroesSectors: 2 ** 21, maxSegments: 1 },
  }),
  tagSetData: (config) => config,
  queueData: () => undefined,
  operations,
  statistics: {
    names: ['reads', 'writes', 'flushes', 'discards', 'errors', 'read_bytes', 'write_bytes'],
    read(hw, out) {
      out[0] = hw.reads;
      out[1] = hw.writes;
      out[2] = hw.flushes;
      out[3] = hw.discards;
      out[4] = hw.errors;
      out[5] = hw.readBytes;
      out[6] = hw.writeBytes;
    },
  },
};
