/** What a target tells the block layer about its disk (ublk's basic and discard parameters). */
export interface DiskParameters {
  readonly sizeBytes: number;
  /** 512, 1024, 2048 or 4096. */
  readonly logicalBlockSize: number;
  readonly physicalBlockSize?: number;
  readonly rotational?: boolean;
  readonly readOnly?: boolean;
  /** The device has a volatile write cache: filesystems send flushes. */
  readonly volatileCache?: boolean;
  /** Forced unit access is honoured. */
  readonly fua?: boolean;
  /** Largest request, in 512-byte sectors (also bounded by the per-tag buffer). */
  readonly maxSectors?: number;
  /** No gap inside a request may cross this mask's boundary (null_blk's virt_boundary: a page, 4095). */
  readonly virtBoundaryMask?: number;
  /** A host-managed zoned disk (UBLK_F_ZONED): its zone size (chunk_sectors) and limits, 0 for none. */
  readonly zoned?: {
    readonly zoneSectors: number;
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
}

export const validLogicalBlockSizes = [512, 1024, 2048, 4096] as const;
