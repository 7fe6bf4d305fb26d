import { BLK_ZONE_COND, BLK_ZONE_TYPE, BlkZone } from '../../native-bindings/blkzoned.js';
import { setU64 } from '../../native-bindings/u64.js';
import type { SharedMutex } from '../blk/shared-mutex.js';
import { ReqOp } from '../blk/request.js';
import { EIO } from './memory-store.js';

/** BLK_STS_ZONE_OPEN_RESOURCE and BLK_STS_ZONE_ACTIVE_RESOURCE, as the kernel maps them from errnos. */
const ETOOMANYREFS = 109;
const EOVERFLOW = 75;

/** A host-managed zoned disk's layout (null_blk's zone_* attributes), in 512-byte sectors. */
export interface ZoneGeometry {
  readonly deviceSectors: number;
  readonly zoneSectors: number;
  /** Writable sectors of each sequential zone (zone_capacity), at most zoneSectors. */
  readonly capacitySectors: number;
  readonly conventional: number;
  readonly zones: number;
  /** 0: no limit. */
  readonly maxOpen: number;
  readonly maxActive: number;
  /** zone_full: sequential zones start FULL. zone_readonly, zone_offline: how many of the first sequential zones are. */
  readonly full?: boolean;
  readonly readonly?: number;
  readonly offline?: number;
}

const C = BLK_ZONE_COND;
// The Int32 header: how many zones are in each counted condition.
const H = { ImpOpen: 0, ExpOpen: 1, Closed: 2 } as const;
const HEADER_WORDS = 4;

/**
 * The zones of a zoned null device: each zone's condition and write pointer, shared by every
 * queue (one SharedArrayBuffer, changed under the device's mutex), with null_blk's rules: a
 * sequential zone takes writes only at its write pointer and within its capacity, opens
 * implicitly on a write (closing another implicitly opened one when zone_max_open is reached),
 * counts toward zone_max_active while open or closed, and is full at capacity.
 */
export class ZoneTable {
  private readonly header: Int32Array;
  private readonly conditions: Int32Array;
  private readonly writePointers: Float64Array;

  static create(geometry: ZoneGeometry): SharedArrayBuffer {
    const buffer = new SharedArrayBuffer(
      4 * HEADER_WORDS + 4 * geometry.zones + (geometry.zones % 2) * 4 + 8 * geometry.zones,
    );
    const table = new ZoneTable(buffer, null, geometry);
    for (let zone = 0; zone < geometry.zones; zone++) table.resetZone(zone);
    table.applyInitialConditions();
    return buffer;
  }

  constructor(
    buffer: SharedArrayBuffer,
    private readonly mutex: SharedMutex | null,
    readonly geometry: ZoneGeometry,
  ) {
    const zones = geometry.zones;
    this.header = new Int32Array(buffer, 0, HEADER_WORDS);
    this.conditions = new Int32Array(buffer, 4 * HEADER_WORDS, zones);
    this.writePointers = new Float64Array(buffer, 4 * HEADER_WORDS + 4 * zones + (zones % 2) * 4, zones);
  }

  zoneOf(sector: number): number {
    return Math.floor(sector / this.geometry.zoneSectors);
  }

  start(zone: number): number {
    return zone * this.geometry.zoneSectors;
  }

  length(zone: number): number {
    return Math.min(this.geometry.zoneSectors, this.geometry.deviceSectors - this.start(zone));
  }

  capacity(zone: number): number {
    return zone < this.geometry.conventional
      ? this.length(zone)
      : Math.min(this.geometry.capacitySectors, this.length(zone));
  }

  condition(zone: number): number {
    return this.conditions[zone] ?? C.OFFLINE;
  }

  writePointer(zone: number): number {
    return this.writePointers[zone] ?? 0;
  }

  private lock(): void {
    this.mutex?.lock();
  }

  private unlock(): void {
    this.mutex?.unlock();
  }

  private count(which: number, by: number): void {
    this.header[which] = (this.header[which] ?? 0) + by;
  }

  /** zone_full, zone_readonly, zone_offline: conditions a fresh device starts with (as null_blk sets them). */
  private applyInitialConditions(): void {
    const first = this.geometry.conventional;
    const readonly = this.geometry.readonly ?? 0;
    const offline = this.geometry.offline ?? 0;
    for (let zone = first; zone < this.geometry.zones; zone++) {
      if (zone < first + readonly) this.conditions[zone] = C.READONLY;
      else if (zone < first + readonly + offline) this.conditions[zone] = C.OFFLINE;
      else if (this.geometry.full === true) this.conditions[zone] = C.FULL;
      else continue;
      this.writePointers[zone] =
        this.conditions[zone] === C.FULL ? this.start(zone) + this.length(zone) : this.start(zone);
    }
  }

  /** Whether a read of `sector` may be served (an OFFLINE zone answers nothing). */
  readable(sector: number): boolean {
    return this.condition(this.zoneOf(sector)) !== C.OFFLINE;
  }

  private resetZone(zone: number): void {
    const conventional = zone < this.geometry.conventional;
    this.conditions[zone] = conventional ? C.NOT_WP : C.EMPTY;
    this.writePointers[zone] = conventional ? this.start(zone) + this.length(zone) : this.start(zone);
  }

  /** Leaves the counted condition `cond` (a zone moving to another). */
  private leave(cond: number): void {
    if (cond === C.IMP_OPEN) this.count(H.ImpOpen, -1);
    else if (cond === C.EXP_OPEN) this.count(H.ExpOpen, -1);
    else if (cond === C.CLOSED) this.count(H.Closed, -1);
  }

  private checkActive(): number {
    const max = this.geometry.maxActive;
    if (max === 0) return 0;
    return (this.header[H.ImpOpen] ?? 0) + (this.header[H.ExpOpen] ?? 0) + (this.header[H.Closed] ?? 0) < max
      ? 0
      : -EOVERFLOW;
  }

  private checkOpen(): number {
    const max = this.geometry.maxOpen;
    if (max === 0 || (this.header[H.ImpOpen] ?? 0) + (this.header[H.ExpOpen] ?? 0) < max) return 0;
    if ((this.header[H.ImpOpen] ?? 0) > 0 && this.checkActive() === 0) {
      // Make room: close an implicitly opened zone, as null_blk does.
      for (let zone = this.geometry.conventional; zone < this.geometry.zones; zone++) {
        if (this.conditions[zone] !== C.IMP_OPEN) continue;
        this.count(H.ImpOpen, -1);
        this.conditions[zone] = this.writePointer(zone) === this.start(zone) ? C.EMPTY : C.CLOSED;
        if (this.conditions[zone] === C.CLOSED) this.count(H.Closed, 1);
        return 0;
      }
    }
    return -ETOOMANYREFS;
  }

  /** Whether an EMPTY or CLOSED zone may open (null_blk's null_check_zone_resources). */
  private checkResources(cond: number): number {
    if (cond === C.EMPTY) {
      const active = this.checkActive();
      if (active < 0) return active;
    }
    return this.checkOpen();
  }

  /**
   * A write of `sectors` at `sector`, or a zone append to the zone holding `sector`: checks it
   * against the zone's rules and moves the write pointer. Returns the first sector the data
   * goes to (an append's answer), or -errno.
   */
  write(sector: number, sectors: number, append: boolean): number {
    const zone = this.zoneOf(sector);
    if (zone >= this.geometry.zones) return -EIO;
    if (zone < this.geometry.conventional) return append ? -EIO : sector; // conventional: anywhere, no append
    this.lock();
    try {
      const cond = this.condition(zone);
      if (cond === C.FULL || cond === C.READONLY || cond === C.OFFLINE) return -EIO;
      const at = append ? this.writePointer(zone) : sector;
      if (at !== this.writePointer(zone)) return -EIO; // not at the write pointer
      if (at + sectors > this.start(zone) + this.capacity(zone)) return -EIO;
      if (cond === C.EMPTY || cond === C.CLOSED) {
        const room = this.checkResources(cond);
        if (room < 0) return room;
        this.leave(cond);
        this.conditions[zone] = C.IMP_OPEN;
        this.count(H.ImpOpen, 1);
      }
      this.writePointers[zone] = at + sectors;
      if (at + sectors === this.start(zone) + this.capacity(zone)) {
        this.leave(this.condition(zone));
        this.conditions[zone] = C.FULL;
      }
      return at;
    } finally {
      this.unlock();
    }
  }

  /** ZONE_OPEN, CLOSE, FINISH, RESET of the zone holding `sector`, or RESET_ALL: 0 or -errno. */
  manage(op: number, sector: number): number {
    this.lock();
    try {
      if (op === ReqOp.ZoneResetAll) {
        for (let zone = this.geometry.conventional; zone < this.geometry.zones; zone++) {
          this.leave(this.condition(zone));
          this.resetZone(zone);
        }
        return 0;
      }
      const zone = this.zoneOf(sector);
      if (zone >= this.geometry.zones || zone < this.geometry.conventional || sector !== this.start(zone)) return -EIO;
      const cond = this.condition(zone);
      switch (op) {
        case ReqOp.ZoneOpen: {
          if (cond === C.EXP_OPEN) return 0;
          if (cond !== C.EMPTY && cond !== C.IMP_OPEN && cond !== C.CLOSED) return -EIO;
          if (cond !== C.IMP_OPEN) {
            const room = this.checkResources(cond);
            if (room < 0) return room;
          }
          this.leave(cond);
          this.conditions[zone] = C.EXP_OPEN;
          this.count(H.ExpOpen, 1);
          return 0;
        }
        case ReqOp.ZoneClose: {
          if (cond === C.CLOSED) return 0;
          if (cond !== C.IMP_OPEN && cond !== C.EXP_OPEN) return -EIO;
          this.leave(cond);
          const empty = this.writePointer(zone) === this.start(zone);
          this.conditions[zone] = empty ? C.EMPTY : C.CLOSED;
          if (!empty) this.count(H.Closed, 1);
          return 0;
        }
        case ReqOp.ZoneFinish: {
          if (cond === C.FULL) return 0;
          if (cond === C.EMPTY) {
            const active = this.checkActive();
            if (active < 0) return active;
          } else if (cond !== C.IMP_OPEN && cond !== C.EXP_OPEN && cond !== C.CLOSED) return -EIO;
          this.leave(cond);
          this.conditions[zone] = C.FULL;
          this.writePointers[zone] = this.start(zone) + this.length(zone);
          return 0;
        }
        case ReqOp.ZoneReset: {
          if (cond === C.READONLY || cond === C.OFFLINE) return -EIO;
          this.leave(cond);
          this.resetZone(zone);
          return 0;
        }
        default:
          return -EIO;
      }
    } finally {
      this.unlock();
    }
  }

  /**
   * REPORT_ZONES: `count` struct blk_zone from the zone holding `sector` into `out` (zeros after
   * the last zone: the kernel stops at a zero length). Returns the bytes of the report.
   */
  report(sector: number, count: number, out: DataView): number {
    const first = this.zoneOf(sector);
    const bytes = count * BlkZone.size;
    // SAFETY: out covers every zone's descriptor (made for this table's zone count), and the kernel asks for no more.
    for (let offset = 0; offset < bytes; offset += 4) out.setUint32(offset, 0, true);
    this.lock();
    try {
      for (let i = 0; i < count && first + i < this.geometry.zones; i++) {
        const zone = first + i;
        const at = i * BlkZone.size;
        setU64(out, at + BlkZone.start, this.start(zone));
        setU64(out, at + BlkZone.len, this.length(zone));
        setU64(out, at + BlkZone.wp, this.writePointer(zone));
        out.setUint8(
          at + BlkZone.type,
          zone < this.geometry.conventional ? BLK_ZONE_TYPE.CONVENTIONAL : BLK_ZONE_TYPE.SEQWRITE_REQ,
        );
        out.setUint8(at + BlkZone.cond, this.condition(zone));
        setU64(out, at + BlkZone.capacity, this.capacity(zone));
      }
    } finally {
      this.unlock();
    }
    return bytes;
  }
}
