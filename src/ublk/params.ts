import {
  UBLK_ATTR,
  UBLK_PARAM_TYPE,
  UblkParamBasic as B,
  UblkParamDevt as T,
  UblkParamDiscard as D,
  UblkParamZoned as Z,
  UblkParams as P,
} from '../../native-bindings/ublk_cmd.js';
import { getU64, setU64 } from '../../native-bindings/u64.js';
import type { DiskParameters } from '../blk/disk.js';

/** The ublk_params tsublk sets and reads, decoded. */
export interface UblkParams {
  readonly types: number;
  readonly attrs: number;
  readonly logicalBlockShift: number;
  readonly physicalBlockShift: number;
  readonly ioOptShift: number;
  readonly ioMinShift: number;
  readonly maxSectors: number;
  readonly devSectors: number;
  readonly virtBoundaryMask: number;
  /** Zone size in sectors (basic.chunk_sectors); 0 unless zoned. */
  readonly chunkSectors: number;
  readonly zoned?: {
    readonly maxOpenZones: number;
    readonly maxActiveZones: number;
    readonly maxZoneAppendSectors: number;
  };
  readonly discard?: {
    readonly granularity: number;
    readonly maxSectors: number;
    readonly maxWriteZeroesSectors: number;
    readonly maxSegments: number;
  };
  /** Filled in by the kernel (GET_PARAMS). */
  readonly devt?: {
    readonly charMajor: number;
    readonly charMinor: number;
    readonly diskMajor: number;
    readonly diskMinor: number;
  };
}

/** The buffer size for SET/GET_PARAMS: the newest struct; older kernels clamp len to theirs. */
export const paramsBufferSize = P.size;

/** The ublk parameters for a target's disk, with requests no larger than the per-tag buffer. */
export function paramsForDisk(disk: DiskParameters, maxIoBufBytes: number): UblkParams {
  const shift = Math.log2(disk.logicalBlockSize);
  let attrs = 0;
  if (disk.rotational === true) attrs |= UBLK_ATTR.ROTATIONAL;
  if (disk.readOnly === true) attrs |= UBLK_ATTR.READ_ONLY;
  if (disk.volatileCache === true) attrs |= UBLK_ATTR.VOLATILE_CACHE;
  if (disk.fua === true) attrs |= UBLK_ATTR.FUA;
  const bufferSectors = Math.floor(maxIoBufBytes / 512);
  const maxSectors = Math.min(disk.maxSectors ?? bufferSectors, bufferSectors);
  const zoned = disk.zoned;
  return {
    types:
      UBLK_PARAM_TYPE.BASIC |
      (disk.discard === undefined ? 0 : UBLK_PARAM_TYPE.DISCARD) |
      (zoned === undefined ? 0 : UBLK_PARAM_TYPE.ZONED),
    attrs,
    logicalBlockShift: shift,
    physicalBlockShift: Math.log2(disk.physicalBlockSize ?? disk.logicalBlockSize),
    ioOptShift: shift,
    ioMinShift: shift,
    maxSectors,
    devSectors: Math.floor(disk.sizeBytes / 512),
    virtBoundaryMask: disk.virtBoundaryMask ?? 0,
    chunkSectors: zoned?.zoneSectors ?? 0,
    // An append is one request: no larger than the largest request.
    ...(zoned === undefined
      ? {}
      : {
          zoned: {
            maxOpenZones: zoned.maxOpenZones,
            maxActiveZones: zoned.maxActiveZones,
            maxZoneAppendSectors: Math.min(zoned.maxZoneAppendSectors, maxSectors),
          },
        }),
    ...(disk.discard === undefined ? {} : { discard: disk.discard }),
  };
}

export function encodeParams(params: UblkParams): Uint8Array {
  const bytes = new Uint8Array(P.size);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, P.size, true);
  view.setUint32(4, params.types, true);
  const b = P.basic;
  view.setUint32(b + B.attrs, params.attrs, true);
  view.setUint8(b + B.logical_bs_shift, params.logicalBlockShift);
  view.setUint8(b + B.physical_bs_shift, params.physicalBlockShift);
  view.setUint8(b + B.io_opt_shift, params.ioOptShift);
  view.setUint8(b + B.io_min_shift, params.ioMinShift);
  view.setUint32(b + B.max_sectors, params.maxSectors, true);
  setU64(view, b + B.dev_sectors, params.devSectors);
  setU64(view, b + B.virt_boundary_mask, params.virtBoundaryMask);
  view.setUint32(b + B.chunk_sectors, params.chunkSectors, true);
  if (params.zoned !== undefined) {
    const z = P.zoned;
    view.setUint32(z + Z.max_open_zones, params.zoned.maxOpenZones, true);
    view.setUint32(z + Z.max_active_zones, params.zoned.maxActiveZones, true);
    view.setUint32(z + Z.max_zone_append_sectors, params.zoned.maxZoneAppendSectors, true);
  }
  if (params.discard !== undefined) {
    const d = P.discard;
    view.setUint32(d + D.discard_granularity, params.discard.granularity, true);
    view.setUint32(d + D.max_discard_sectors, params.discard.maxSectors, true);
    view.setUint32(d + D.max_write_zeroes_sectors, params.discard.maxWriteZeroesSectors, true);
    view.setUint16(d + D.max_discard_segments, params.discard.maxSegments, true);
  }
  return bytes;
}

export function decodeParams(bytes: Uint8Array): UblkParams {
  const view = new DataView(bytes.buffer, bytes.byteOffset, P.size);
  const types = view.getUint32(4, true);
  const b = P.basic;
  const d = P.discard;
  const t = P.devt;
  return {
    types,
    attrs: view.getUint32(b + B.attrs, true),
    logicalBlockShift: view.getUint8(b + B.logical_bs_shift),
    physicalBlockShift: view.getUint8(b + B.physical_bs_shift),
    ioOptShift: view.getUint8(b + B.io_opt_shift),
    ioMinShift: view.getUint8(b + B.io_min_shift),
    maxSectors: view.getUint32(b + B.max_sectors, true),
    devSectors: getU64(view, b + B.dev_sectors),
    virtBoundaryMask: getU64(view, b + B.virt_boundary_mask),
    chunkSectors: view.getUint32(b + B.chunk_sectors, true),
    ...(types & UBLK_PARAM_TYPE.ZONED
      ? {
          zoned: {
            maxOpenZones: view.getUint32(P.zoned + Z.max_open_zones, true),
            maxActiveZones: view.getUint32(P.zoned + Z.max_active_zones, true),
            maxZoneAppendSectors: view.getUint32(P.zoned + Z.max_zone_append_sectors, true),
          },
        }
      : {}),
    ...(types & UBLK_PARAM_TYPE.DISCARD
      ? {
          discard: {
            granularity: view.getUint32(d + D.discard_granularity, true),
            maxSectors: view.getUint32(d + D.max_discard_sectors, true),
            maxWriteZeroesSectors: view.getUint32(d + D.max_write_zeroes_sectors, true),
            maxSegments: view.getUint16(d + D.max_discard_segments, true),
          },
        }
      : {}),
    ...(types & UBLK_PARAM_TYPE.DEVT
      ? {
          devt: {
            charMajor: view.getUint32(t + T.char_major, true),
            charMinor: view.getUint32(t + T.char_minor, true),
            diskMajor: view.getUint32(t + T.disk_major, true),
            diskMinor: view.getUint32(t + T.disk_minor, true),
          },
        }
      : {}),
  };
}
