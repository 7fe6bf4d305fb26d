import { execFileSync } from 'node:child_process';
import { isIP } from 'node:net';
import { close } from '../../../native-bindings/libc.js';
import { counterTable } from '../../blk/counters.js';
import type { DiskParameters } from '../../blk/disk.js';
import type { Operations } from '../../blk/operations.js';
import { ReqFlag, ReqOp } from '../../blk/request.js';
import type { Target } from '../../blk/target.js';
import type { NbdConfig, NbdEndpoint, NbdExport } from './config.js';
import { NbdConnection, type NbdSocket } from './connection.js';
import { connectExport, endpointName } from './handshake.js';
import { NBD_CMD, NBD_CMD_FLAG, NBD_FLAG } from './protocol.js';

const SECTOR = 512;
const EIO = 5;
const EOPNOTSUPP = 95;

/** The configuration a queue receives: the export, and its own connection's socket. */
type NbdRuntimeConfig = NbdConfig & {
  readonly runtime?: { readonly fds: readonly number[]; readonly structuredReplies: readonly boolean[] };
};

/** Per queue (hctx): its connection to the server, and counters. */
export class NbdQueue {
  reads = 0;
  writes = 0;
  flushes = 0;
  trims = 0;
  writeZeroes = 0;
  fuaWrites = 0;
  readBytes = 0;
  writeBytes = 0;
  /** Requests failed because the connection had failed. */
  connectionErrors = 0;

  constructor(
    readonly connection: NbdConnection,
    /** NBD_FLAG_* of the export. */
    readonly exportFlags: number,
  ) {}
}

/** A host name or address as a numeric address (getent: the system's resolver, as getaddrinfo asks it). */
function resolve(host: string): string {
  if (isIP(host) !== 0) return host;
  let answer = '';
  try {
    answer = execFileSync('getent', ['ahosts', host], { encoding: 'utf8', timeout: 10_000 });
  } catch {
    // no answer: below
  }
  const address = answer.split(/\s+/)[0] ?? '';
  if (isIP(address) === 0) throw new Error(`nbd: cannot resolve --host ${host}: check the name, or give an address`);
  return address;
}

function isPowerOfTwo(value: number): boolean {
  return value > 0 && (value & (value - 1)) === 0;
}

/** The disk's logical block: --bs if given, else the export's minimum block within 512 … 4096. */
function logicalBlock(config: NbdConfig, exported: NbdExport): number {
  if (config.blockSizeGiven) return config.logicalBlockSize;
  return isPowerOfTwo(exported.minimumBlock) ? Math.min(4096, Math.max(SECTOR, exported.minimumBlock)) : SECTOR;
}

const operations: Operations<NbdRuntimeConfig, undefined, NbdQueue, undefined> = {
  newRequestData: () => undefined,
  initHctx(config, hctxIdx, io) {
    const fd = config.runtime?.fds[hctxIdx];
    if (fd === undefined || config.export === undefined)
      throw new Error(`nbd target: queue ${hctxIdx} has no connection (open() runs in the daemon first)`);
    const exported = config.export;
    // A new connection to the same export (its size unchanged), from this queue's thread.
    const reconnect = (timeoutSeconds: number): NbdSocket => {
      const connected = connectExport(config.endpoint, config.exportName, timeoutSeconds);
      if (connected.export.sizeBytes !== exported.sizeBytes) {
        close(connected.fd);
        throw new Error(`the export is ${connected.export.sizeBytes} bytes now, not ${exported.sizeBytes}`);
      }
      return { fd: connected.fd, structuredReplies: connected.export.structuredReplies };
    };
    const connection = new NbdConnection(
      io,
      { fd, structuredReplies: config.runtime?.structuredReplies[hctxIdx] ?? false },
      io.depth,
      endpointName(config.endpoint),
      (message) => io.log(message),
      reconnect,
      config.reconnectTimeoutSeconds * 1e6,
    );
    return new NbdQueue(connection, exported.flags);
  },
  // The daemon closes the first connection (close()); the queue, those it made.
  exitHctx: (hw) => hw.connection.close(),
  queueRq(hw, _queue, rq) {
    const connection = hw.connection;
    if (connection.failed) {
      hw.connectionErrors++;
      rq.end(-EIO);
      return;
    }
    const offset = rq.startSector * SECTOR;
    const flags = hw.exportFlags;
    switch (rq.op) {
      case ReqOp.Read:
        hw.reads++;
        hw.readBytes += rq.bytes;
        connection.submit(rq, NBD_CMD.READ, 0, offset, rq.bytes);
        return;
      case ReqOp.Write: {
        hw.writes++;
        hw.writeBytes += rq.bytes;
        const fua = (rq.flags & ReqFlag.Fua) !== 0 && (flags & NBD_FLAG.SEND_FUA) !== 0;
        if (fua) hw.fuaWrites++;
        connection.submit(rq, NBD_CMD.WRITE, fua ? NBD_CMD_FLAG.FUA : 0, offset, rq.bytes);
        return;
      }
      case ReqOp.Flush:
        hw.flushes++;
        if ((flags & NBD_FLAG.SEND_FLUSH) === 0)
          rq.end(0); // no volatile cache was announced
        else connection.submit(rq, NBD_CMD.FLUSH, 0, 0, 0);
        return;
      case ReqOp.Discard:
        if ((flags & NBD_FLAG.SEND_TRIM) === 0) break;
        hw.trims++;
        connection.submit(rq, NBD_CMD.TRIM, 0, offset, rq.bytes);
        return;
      case ReqOp.WriteZeroes:
        if ((flags & NBD_FLAG.SEND_WRITE_ZEROES) === 0) break;
        hw.writeZeroes++;
        // NOUNMAP: the range must stay allocated (NBD_CMD_FLAG_NO_HOLE).
        connection.submit(
          rq,
          NBD_CMD.WRITE_ZEROES,
          (rq.flags & ReqFlag.NoUnmap) !== 0 ? NBD_CMD_FLAG.NO_HOLE : 0,
          offset,
          rq.bytes,
        );
        return;
      default:
        break;
    }
    rq.end(-EOPNOTSUPP);
  },
  commitRqs(hw) {
    hw.connection.flush(); // one writev for the batch
  },
  poll: (hw) => hw.connection.poll(), // -1 unless reconnecting
  streamDone(hw, stream, result) {
    hw.connection.streamDone(stream, result);
  },
};

const nbdCounters = counterTable([
  'reads',
  'writes',
  'flushes',
  'trims',
  'write_zeroes',
  'fua_writes',
  'read_bytes',
  'write_bytes',
  'in_flight_server',
  'short_sends',
  'read_holes',
  'connection_losses',
  'reconnects',
  'connection_errors',
]);

export const nbdTarget: Target<NbdRuntimeConfig, NbdRuntimeConfig, undefined, NbdQueue, undefined> = {
  name: 'nbd',
  type: 3,
  open(config, _devId, _reattach, shape) {
    const endpoint: NbdEndpoint =
      config.endpoint.kind === 'tcp' ? { ...config.endpoint, ip: resolve(config.endpoint.host) } : config.endpoint;
    const fds: number[] = [];
    const structuredReplies: boolean[] = [];
    try {
      let exported: NbdExport | undefined;
      for (let queue = 0; queue < shape.queues; queue++) {
        const connected = connectExport(endpoint, config.exportName);
        fds.push(connected.fd);
        structuredReplies.push(connected.export.structuredReplies);
        exported ??= connected.export;
        if (queue === 0 && shape.queues > 1 && (exported.flags & NBD_FLAG.CAN_MULTI_CONN) === 0)
          throw new Error(
            `nbd: ${endpointName(endpoint)} does not let clients share the export over several connections (no NBD_FLAG_CAN_MULTI_CONN): add with -q 1, or start the server with multi-conn (qemu-nbd -e N, nbdkit's default)`,
          );
      }
      if (exported === undefined) throw new Error('nbd: a device has at least one queue');
      if (config.export !== undefined && config.export.sizeBytes !== exported.sizeBytes)
        throw new Error(
          `nbd: the export at ${endpointName(endpoint)} is ${exported.sizeBytes} bytes now, not ${config.export.sizeBytes}: it is not the export this device served`,
        );
      const lbs = logicalBlock(config, exported);
      const sizeBytes = Math.floor(exported.sizeBytes / lbs) * lbs;
      if (sizeBytes === 0)
        throw new Error(
          `nbd: the export at ${endpointName(endpoint)} is ${exported.sizeBytes} bytes: smaller than a block`,
        );
      const opened: NbdRuntimeConfig = {
        ...config,
        endpoint,
        export: exported,
        sizeBytes,
        logicalBlockSize: lbs,
        runtime: { fds, structuredReplies },
      };
      return {
        config: opened,
        ownedFiles: [],
        close: () => {
          for (const fd of fds.splice(0)) close(fd);
        },
      };
    } catch (error) {
      for (const fd of fds) close(fd);
      throw error;
    }
  },
  disk(config): DiskParameters {
    const flags = config.export?.flags ?? 0;
    const preferred = config.export?.preferredBlock ?? 0;
    const maximum = config.export?.maximumBlock ?? 0;
    const trim = (flags & NBD_FLAG.SEND_TRIM) !== 0;
    const zeroes = (flags & NBD_FLAG.SEND_WRITE_ZEROES) !== 0;
    return {
      sizeBytes: config.sizeBytes,
      logicalBlockSize: config.logicalBlockSize,
      ...(isPowerOfTwo(preferred) && preferred >= config.logicalBlockSize && preferred <= 65536
        ? { physicalBlockSize: preferred }
        : {}),
      readOnly: config.readOnly || (flags & NBD_FLAG.READ_ONLY) !== 0,
      rotational: (flags & NBD_FLAG.ROTATIONAL) !== 0,
      volatileCache: (flags & NBD_FLAG.SEND_FLUSH) !== 0,
      fua: (flags & NBD_FLAG.SEND_FUA) !== 0,
      // A request the server takes whole (its maximum block), when that is below the buffer's.
      ...(maximum >= config.logicalBlockSize && maximum < 2 ** 25 ? { maxSectors: Math.floor(maximum / SECTOR) } : {}),
      ...(trim || zeroes
        ? {
            discard: {
              granularity: config.logicalBlockSize,
              maxSectors: trim ? 2 ** 21 : 0,
              maxWriteZeroesSectors: zeroes ? 2 ** 21 : 0,
              maxSegments: 1,
            },
          }
        : {}),
    };
  },
  tagSetData: (config) => config,
  queueData: () => undefined,
  operations,
  statistics: {
    names: nbdCounters.names,
    read(hw, out) {
      out[nbdCounters.at.reads] = hw.reads;
      out[nbdCounters.at.writes] = hw.writes;
      out[nbdCounters.at.flushes] = hw.flushes;
      out[nbdCounters.at.trims] = hw.trims;
      out[nbdCounters.at.write_zeroes] = hw.writeZeroes;
      out[nbdCounters.at.fua_writes] = hw.fuaWrites;
      out[nbdCounters.at.read_bytes] = hw.readBytes;
      out[nbdCounters.at.write_bytes] = hw.writeBytes;
      out[nbdCounters.at.in_flight_server] = hw.connection.pending;
      out[nbdCounters.at.short_sends] = hw.connection.shortSends;
      out[nbdCounters.at.read_holes] = hw.connection.holes;
      out[nbdCounters.at.connection_losses] = hw.connection.losses;
      out[nbdCounters.at.reconnects] = hw.connection.reconnects;
      out[nbdCounters.at.connection_errors] = hw.connectionErrors;
    },
  },
};
