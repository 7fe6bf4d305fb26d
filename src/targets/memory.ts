import type { Operations } from '../blk/operations.js';
import { counterTable } from '../blk/counters.js';
import type { QueueIo } from '../blk/queue-io.js';
import { ReqFlag, ReqOp, type Request } from '../blk/request.js';
import { openBacking } from './memory-backing.js';
import { EIO, type MappedStore, SECTOR, moveData, punchHole } from './memory-store.js';
import type { Target } from '../blk/target.js';

/** The memory target's configuration; `open` fills in the rest. */
export interface MemoryConfig {
  /** 0: the size of the existing --backing file. */
  readonly sizeBytes: number;
  readonly logicalBlockSize: number;
  /** A user's --backing file, or null for /dev/shm/tsublk-<id>. */
  readonly backing: string | null;
  /** Set by open: tsublk made the backing (the /dev/shm default), so it goes with the device. */
  readonly ownsBacking?: boolean;
  /** Set by open: the backing is on a filesystem (not tmpfs), so FLUSH and FUA reach it. */
  readonly persistent?: boolean;
  /**
   * Set by open, for the queues of this process only (never recorded): the store's fd and
   * mapping, and `limit[0]`, the disk's size now, shared by the daemon (tsublk resize) and every
   * queue: no request touches the mapping past it.
   */
  readonly runtime?: { readonly fd: number; readonly address: number; readonly limit: Float64Array };
}

/** Per queue (hctx): its I/O channel, the shared backing's fd and address, and counters. */
export class MemoryQueue implements MappedStore {
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
    /** The disk's size now (config.runtime.limit): resize changes it while the queues serve. */
    private readonly limit: Float64Array,
    readonly persistent: boolean,
  ) {}

  get sizeBytes(): number {
    return this.limit[0] ?? 0;
  }
}

/** Per request: what it ends with once its sync (FLUSH, or FUA after the write) completes. */
export class MemoryRequest {
  result = 0;
}

const EOPNOTSUPP = 95;

/** Starts an fsync (or fdatasync) of a file backing; `complete` ends the request with `result`. */
function syncThenEnd(hw: MemoryQueue, rq: Request<MemoryRequest>, dataOnly: boolean, result: number): void {
  rq.data.result = result;
  hw.io.syncFile(rq, hw.fd, dataOnly);
}

const operations: Operations<MemoryConfig, undefined, MemoryQueue, MemoryRequest> = {
  newRequestData: () => new MemoryRequest(),
  initHctx(config, _hctxIdx, io) {
    if (config.runtime === undefined)
      throw new Error('memory target: the backing was not opened (open() runs in the daemon first)');
    const { fd, address, limit } = config.runtime;
    return new MemoryQueue(io, fd, address, limit, config.persistent === true);
  },
  exitHctx: () => undefined,
  queueRq(hw, _queue, rq) {
    switch (rq.op) {
      case ReqOp.Read: {
        hw.reads++;
        hw.readBytes += rq.bytes;
        const result = moveData(hw, rq, false);
        if (result < 0) hw.errors++;
        rq.end(result);
        return;
      }
      case ReqOp.Write: {
        hw.writes++;
        hw.writeBytes += rq.bytes;
        const result = moveData(hw, rq, true);
        if (result < 0) hw.errors++;
        // FUA on a file backing: durable before it completes.
        if (result >= 0 && (rq.flags & ReqFlag.Fua) !== 0 && hw.persistent) syncThenEnd(hw, rq, true, result);
        else rq.end(result);
        return;
      }
      case ReqOp.Flush:
        hw.flushes++;
        // Memory: nothing volatile lies between a write and the store. A file: fsync it.
        if (hw.persistent) syncThenEnd(hw, rq, false, 0);
        else rq.end(0);
        return;
      case ReqOp.Discard:
      case ReqOp.WriteZeroes:
        hw.discards++;
        if (punchHole(hw.fd, rq.startSector * SECTOR, rq.bytes)) rq.end(0);
        else {
          hw.errors++;
          rq.end(-EIO);
        }
        return;
      default:
        rq.end(-EOPNOTSUPP);
    }
  },
  complete(rq, hw) {
    // The sync of a FLUSH or FUA write finished.
    if (rq.ioResult < 0) hw.errors++;
    rq.end(rq.ioResult < 0 ? rq.ioResult : rq.data.result);
  },
};

/** The counters `stats` and `list -v` show for each queue. */
const memoryCounters = counterTable(['reads', 'writes', 'flushes', 'discards', 'errors', 'read_bytes', 'write_bytes']);

export const memoryTarget: Target<MemoryConfig, MemoryConfig, undefined, MemoryQueue, MemoryRequest> = {
  name: 'memory',
  type: 1,
  open(config, devId, reattach) {
    const opened = openBacking(
      config.backing,
      config.sizeBytes,
      devId,
      reattach ? { owned: config.ownsBacking === true } : null,
    );
    const { backing } = opened;
    // A SharedArrayBuffer: the queues get it with their setup (postMessage shares, never copies,
    // it). An aligned 8-byte store is one instruction on x86-64 and arm64, so no thread reads a
    // torn size; Atomics has no Float64Array.
    const limit = new Float64Array(new SharedArrayBuffer(8));
    limit[0] = backing.sizeBytes;
    let current: MemoryConfig = {
      ...config,
      sizeBytes: backing.sizeBytes,
      backing: backing.path,
      ownsBacking: backing.owned,
      persistent: backing.persistent,
      runtime: { fd: backing.fd, address: backing.address, limit },
    };
    return {
      config: current,
      ownedFiles: backing.owned ? [backing.path] : [],
      close: (deleted) => opened.close(deleted),
      // Whatever the direction, the store keeps every byte below the new end. The queues' limit
      // rises after the file grew, and falls before its tail is punched out.
      resize(sizeBytes) {
        if (sizeBytes < current.sizeBytes) limit[0] = sizeBytes;
        try {
          opened.resize(sizeBytes);
        } catch (error) {
          limit[0] = current.sizeBytes;
          throw error;
        }
        limit[0] = sizeBytes;
        current = { ...current, sizeBytes };
        return current;
      },
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
    names: memoryCounters.names,
    read(hw, out) {
      out[memoryCounters.at.reads] = hw.reads;
      out[memoryCounters.at.writes] = hw.writes;
      out[memoryCounters.at.flushes] = hw.flushes;
      out[memoryCounters.at.discards] = hw.discards;
      out[memoryCounters.at.errors] = hw.errors;
      out[memoryCounters.at.read_bytes] = hw.readBytes;
      out[memoryCounters.at.write_bytes] = hw.writeBytes;
    },
  },
};
