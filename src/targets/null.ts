import { readFileSync } from 'node:fs';
import { counterTable } from '../blk/counters.js';
import type { Operations } from '../blk/operations.js';
import { ReqFlag, ReqOp, type Request } from '../blk/request.js';
import { EIO, type MappedStore, SECTOR, moveData, punchHole } from './memory-store.js';
import { nowNs } from './null-completions.js';
import { IrqMode, type NullConfig, type NullSettings, nullSettings } from './null-config.js';
import type { ZoneTable } from './null-zones.js';
import type { NullDeviceState } from './null-device-state.js';
import type { Target } from '../blk/target.js';
import { openNull } from './null-open.js';
import { NullQueue, count } from './null-queue.js';

export { NullQueue } from './null-queue.js';
export { NULL_DEFAULTS, type NullConfig, type NullSettings, nullSettings } from './null-config.js';

const EOPNOTSUPP = 95;
const ETIMEDOUT = 110;
/** blk-mq's request timeout when the disk's io_timeout cannot be read (ublk_drv keeps the default). */
const DEFAULT_IO_TIMEOUT_NS = 30e9;

/** Moves the data of a read or write (the first `length` bytes), through the cache for writes. */
function transfer(
  hw: NullQueue,
  store: MappedStore,
  rq: Request<undefined>,
  length: number,
  position: number = rq.startSector * SECTOR,
): number {
  if (rq.op === ReqOp.Read) return moveData(store, rq, false, length, position);
  const cache = hw.cache;
  if (cache === null || length === 0) return moveData(store, rq, true, length, position);
  cache.beginWrite(position, length);
  let moved = -EIO;
  try {
    // Checked under the cache's lock, which a power cut holds: no write lands after one.
    if (hw.state === null || hw.state.powered) moved = moveData(store, rq, true, length, position);
  } finally {
    cache.endWrite(position, length, (rq.flags & ReqFlag.Fua) !== 0, moved >= 0);
  }
  return moved;
}

/** FLUSH: writes the cache back (0 without one); fails when a power cut came first (its writes are gone, not durable). */
function flush(hw: NullQueue): number {
  const state = hw.state;
  const cache = hw.cache;
  if (state === null || cache === null) return 0;
  state.mutex.lock();
  try {
    if (!state.powered) return -EIO;
    cache.flushLocked();
    return 0;
  } finally {
    state.mutex.unlock();
  }
}

/** memory_backed: serves the request from the store; bytes done or -errno. */
function serveStored(hw: NullQueue, store: MappedStore, rq: Request<undefined>): number {
  switch (rq.op) {
    case ReqOp.Read:
    case ReqOp.Write:
      return transfer(hw, store, rq, rq.bytes);
    case ReqOp.Flush:
      return flush(hw);
    case ReqOp.Discard:
    case ReqOp.WriteZeroes: {
      // The durable copy too: a discard is not cached (null_blk frees both).
      return punch(hw, store, rq.startSector * SECTOR, rq.bytes) ? 0 : -EIO;
    }
    default:
      return -EOPNOTSUPP;
  }
}

/** Discard and write-zeroes, and a zone reset: the range reads zeros again (the durable copy's too). */
function punch(hw: NullQueue, store: MappedStore, position: number, length: number): boolean {
  return punchHole(store.fd, position, length) && (hw.durableFd < 0 || punchHole(hw.durableFd, position, length));
}

/** A zoned device's request: the zone rules first, then the data (memory_backed); bytes done or -errno. */
function serveZoned(hw: NullQueue, zones: ZoneTable, rq: Request<undefined>): number {
  const store = hw.store;
  switch (rq.op) {
    case ReqOp.Read:
      if (!zones.readable(rq.startSector)) return -EIO;
      return store === null ? rq.bytes : transfer(hw, store, rq, rq.bytes);
    case ReqOp.Write:
    case ReqOp.ZoneAppend: {
      const at = zones.write(rq.startSector, rq.sectors, rq.op === ReqOp.ZoneAppend);
      if (at < 0) return at;
      rq.zoneAppendSector = at; // the commit tells the kernel where an append landed
      return store === null ? rq.bytes : transfer(hw, store, rq, rq.bytes, at * SECTOR);
    }
    case ReqOp.ZoneOpen:
    case ReqOp.ZoneClose:
    case ReqOp.ZoneFinish:
      return zones.manage(rq.op, rq.startSector);
    case ReqOp.ZoneReset:
    case ReqOp.ZoneResetAll: {
      const done = zones.manage(rq.op, rq.startSector);
      if (done < 0 || store === null) return done;
      // The zone's data goes with its write pointer (all sequential zones' for RESET_ALL).
      const first = rq.op === ReqOp.ZoneResetAll ? zones.start(zones.geometry.conventional) : rq.startSector;
      const end =
        rq.op === ReqOp.ZoneResetAll
          ? zones.geometry.deviceSectors
          : rq.startSector + zones.length(zones.zoneOf(rq.startSector));
      return punch(hw, store, first * SECTOR, (end - first) * SECTOR) ? 0 : -EIO;
    }
    case ReqOp.ReportZones: {
      const view = hw.reportView;
      if (view === null) return -EIO;
      // nr_zones shares the descriptor's nr_sectors field; the report is written into the request by user copy.
      const bytes = zones.report(rq.startSector, Math.min(rq.sectors, zones.geometry.zones), view);
      return hw.io.copyToRequest(rq, hw.reportAddress, bytes, 0);
    }
    case ReqOp.Flush:
      return flush(hw);
    default:
      return -EOPNOTSUPP;
  }
}

/**
 * A read or write touching a bad range: -EIO, after doing the part before it with partial_io
 * (whole blocks); the range heals with badblocks_once. 0 when the request is clean.
 */
function badblocksResult(hw: NullQueue, state: NullDeviceState, rq: Request<undefined>): number {
  if (state.badblocks.empty || (rq.op !== ReqOp.Read && rq.op !== ReqOp.Write)) return 0;
  const firstBad = state.badblocks.check(rq.startSector, rq.sectors, state.badblocksOnce);
  if (firstBad < 0) return 0;
  hw.injectedErrors++;
  if (state.badblocksPartialIo && hw.store !== null) {
    const blockSectors = hw.settings.logicalBlockSize / SECTOR;
    const goodSectors = Math.floor((firstBad - rq.startSector) / blockSectors) * blockSectors;
    if (goodSectors > 0) transfer(hw, hw.store, rq, goodSectors * SECTOR);
  }
  return -EIO;
}

/**
 * Serves a request (again, after a requeue): fault injection first, as null_blk's queue_rq
 * decides a requeue, then a timeout, before anything else; then power, bad ranges, the data.
 */
function dispatch(hw: NullQueue, rq: Request<undefined>): void {
  const state = hw.state;
  if (state !== null) {
    const inject = state.inject; // one load: 0 unless a fault is injected
    if (inject !== 0 && injectFault(hw, rq, inject)) return;
    if (!state.powered) {
      hw.injectedErrors++;
      rq.end(-EIO); // no power: the disk answers nothing
      return;
    }
    const bad = badblocksResult(hw, state, rq);
    if (bad < 0) {
      finish(hw, rq, bad);
      return;
    }
  }
  const zones = hw.zones;
  if (zones !== null) finish(hw, rq, serveZoned(hw, zones, rq));
  else finish(hw, rq, hw.store === null ? rq.bytes : serveStored(hw, hw.store, rq));
}

/**
 * requeue_inject and timeout_inject: true when `rq` was put back on the queue, or held to time
 * out. ublk_drv only re-arms a privileged device's timer (it trusts its server), so the queue
 * plays blk-mq's timeout: the request ends with ETIMEDOUT once the disk's io_timeout has passed,
 * as null_blk's timeout handler ends its own with BLK_STS_TIMEOUT.
 */
function injectFault(hw: NullQueue, rq: Request<undefined>, inject: number): boolean {
  const requeuePercent = (inject >> 8) & 0xff;
  if (requeuePercent > 0 && Math.random() * 100 < requeuePercent) {
    hw.requeues++;
    hw.requeued.add(rq);
    return true;
  }
  const timeoutPercent = inject & 0xff;
  if (timeoutPercent > 0 && Math.random() * 100 < timeoutPercent) {
    hw.timeouts++;
    hw.timedOut.add(rq, -ETIMEDOUT, nowNs() + ioTimeoutNs(hw));
    return true;
  }
  return false;
}

/** The disk's request timeout (queue/io_timeout, which root may change while it runs), read when a timeout is injected. */
function ioTimeoutNs(hw: NullQueue): number {
  const file = hw.settings.runtime?.ioTimeoutFile;
  if (file === undefined) return DEFAULT_IO_TIMEOUT_NS;
  try {
    const ms = Number(readFileSync(file, 'utf8'));
    return Number.isFinite(ms) && ms > 0 ? ms * 1e6 : DEFAULT_IO_TIMEOUT_NS;
  } catch {
    return DEFAULT_IO_TIMEOUT_NS;
  }
}

/** Ends `rq` with `result` when its irqmode and the bandwidth cap say so. */
function finish(hw: NullQueue, rq: Request<undefined>, result: number): void {
  const settings = hw.settings;
  const state = hw.state;
  // The bandwidth cap delays completions: the device moves no more than mbps MiB each second.
  const capped = state !== null && result > 0 && state.mbps > 0;
  if (settings.irqmode === IrqMode.None && !capped) {
    rq.end(result);
    return;
  }
  const now = nowNs();
  const bandwidthDue = capped ? state.bookBandwidth(rq.bytes, now) : -1;
  if (settings.irqmode === IrqMode.None) hw.pending.add(rq, result, bandwidthDue);
  else if (settings.irqmode === IrqMode.Batch) hw.pending.add(rq, result, bandwidthDue < 0 ? 0 : bandwidthDue);
  else hw.pending.add(rq, result, Math.max(now + settings.completionNsec, bandwidthDue));
}

const operations: Operations<NullSettings, undefined, NullQueue, undefined> = {
  newRequestData: () => undefined,
  initHctx(settings, hctxIdx, io) {
    if (settings.initHctxFail === hctxIdx)
      throw new Error(`initHctx of queue ${hctxIdx} fails on purpose (--init_hctx_fail ${hctxIdx})`);
    return new NullQueue(hctxIdx, settings, io);
  },
  exitHctx(hw) {
    // Nothing stays with a queue that goes away: what was put back ends as if it timed out.
    for (let rq = hw.requeued.take(); rq !== undefined; rq = hw.requeued.take()) rq.end(-ETIMEDOUT);
    hw.pending.endDue(Infinity);
    hw.timedOut.endDue(Infinity);
    hw.release();
  },
  queueRq(hw, _queue, rq) {
    count(hw, rq);
    dispatch(hw, rq);
  },
  commitRqs(hw) {
    // irqmode 1: the batch ends now (what the bandwidth cap holds ends on its time).
    if (hw.settings.irqmode === IrqMode.Batch) hw.pending.endDue(hw.state === null ? Infinity : nowNs());
  },
  poll(hw) {
    // requeue_inject: what was put back is served again (and may be put back again).
    for (let again = hw.requeued.size; again > 0; again--) dispatch(hw, hw.requeued.take() as Request<undefined>);
    // irqmode 2, the cap and injected timeouts: end what is due; the loop waits no longer than until the next one.
    // Nothing held (irqmode 0, no cap, no injection): no clock to read on this wake.
    if (hw.pending.size === 0 && hw.timedOut.size === 0) return hw.requeued.size > 0 ? 0 : -1;
    const now = nowNs();
    const pendingWait = hw.pending.size === 0 ? -1 : hw.pending.nextWait(now);
    const timeoutWait = hw.timedOut.size === 0 ? -1 : hw.timedOut.nextWait(now);
    const wait = pendingWait < 0 ? timeoutWait : timeoutWait < 0 ? pendingWait : Math.min(pendingWait, timeoutWait);
    return hw.requeued.size > 0 ? 0 : wait;
  },
};

/** The counters `stats` and `list -v` show for each queue. */
const nullCounters = counterTable([
  'reads',
  'writes',
  'flushes',
  'discards',
  'others',
  'read_bytes',
  'write_bytes',
  'pending',
  'fua_writes',
  'injected_errors',
  'cache_dirty_blocks',
  'zone_appends',
  'timeouts',
  'requeues',
]);

export const nullTarget: Target<NullConfig, NullSettings, undefined, NullQueue, undefined> = {
  name: 'null',
  type: 0,
  // The configuration is completed with null_blk's defaults, so the run record, `list -v` and
  // `list --json` show every setting the queues work with; memory_backed acquires its store.
  open: openNull,
  disk: (config) => {
    const settings = nullSettings(config);
    const cached = settings.cacheSize > 0;
    return {
      sizeBytes: settings.sizeBytes,
      logicalBlockSize: settings.logicalBlockSize,
      rotational: settings.rotational === 1,
      // A write cache: filesystems send FLUSH (and FUA where advertised), as to null_blk's.
      volatileCache: cached,
      fua: cached && settings.fua === 1,
      ...(settings.maxSectors > 0 ? { maxSectors: settings.maxSectors } : {}),
      ...(settings.virtBoundary === 1 ? { virtBoundaryMask: 4095 } : {}),
      ...(settings.zoned === 1
        ? {
            zoned: {
              zoneSectors: settings.zoneSize * 2048,
              maxOpenZones: settings.zoneMaxOpen,
              maxActiveZones: settings.zoneMaxActive,
              maxZoneAppendSectors:
                settings.zoneAppendMaxSectors === 0 ? settings.zoneSize * 2048 : settings.zoneAppendMaxSectors,
            },
          }
        : {}),
      ...(settings.memoryBacked === 1 && settings.discard === 1
        ? { discard: { granularity: 4096, maxSectors: 2 ** 21, maxWriteZeroesSectors: 2 ** 21, maxSegments: 1 } }
        : {}),
    };
  },
  tagSetData: nullSettings,
  queueData: () => undefined,
  operations,
  statistics: {
    names: nullCounters.names,
    read(hw, out) {
      out[nullCounters.at.reads] = hw.reads;
      out[nullCounters.at.writes] = hw.writes;
      out[nullCounters.at.flushes] = hw.flushes;
      out[nullCounters.at.discards] = hw.discards;
      out[nullCounters.at.others] = hw.others;
      out[nullCounters.at.read_bytes] = hw.readBytes;
      out[nullCounters.at.write_bytes] = hw.writeBytes;
      out[nullCounters.at.pending] = hw.pending.size;
      out[nullCounters.at.fua_writes] = hw.fuaWrites;
      out[nullCounters.at.injected_errors] = hw.injectedErrors;
      out[nullCounters.at.cache_dirty_blocks] = hw.cache === null ? 0 : hw.cache.dirtyBlocks;
      out[nullCounters.at.zone_appends] = hw.zoneAppends;
      out[nullCounters.at.timeouts] = hw.timeouts;
      out[nullCounters.at.requeues] = hw.requeues;
    },
  },
};
