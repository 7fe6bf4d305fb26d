import { describe, expect, it } from 'vitest';
import { BLK_ZONE_COND as C, BlkZone } from '../../native-bindings/blkzoned.js';
import { getU64 } from '../../native-bindings/u64.js';
import { ReqOp } from '../../src/blk/request.js';
import { type NullSettings, nullSettings, zoneGeometryOf } from '../../src/targets/null-config.js';
import { nullConfigFrom } from '../../src/targets/null-options.js';
import { ZoneTable } from '../../src/targets/null-zones.js';

const MiB = 2048; // sectors

function table(config: Partial<NullSettings> = {}): ZoneTable {
  const settings = nullSettings({
    sizeBytes: 64 * 2 ** 20 + 2 ** 20,
    logicalBlockSize: 512,
    zoned: 1,
    zoneSize: 8,
    zoneNrConv: 1,
    ...config,
  });
  const geometry = zoneGeometryOf(settings);
  return new ZoneTable(ZoneTable.create(geometry), null, geometry);
}

describe('zones (null_blk zoned rules)', () => {
  it('lays out conventional, sequential and a smaller last zone', () => {
    const zones = table({ zoneCapacity: 6 });
    expect(zones.geometry.zones).toBe(9); // 8 of 8 MiB and a 1 MiB runt
    expect([zones.condition(0), zones.condition(1)]).toEqual([C.NOT_WP, C.EMPTY]);
    expect([zones.capacity(0), zones.capacity(1), zones.length(8), zones.capacity(8)]).toEqual([
      8 * MiB,
      6 * MiB,
      MiB,
      MiB,
    ]);
  });

  it('takes writes only at the write pointer, within capacity, and is full at capacity', () => {
    const zones = table({ zoneCapacity: 1 });
    const start = zones.start(1);
    expect(zones.write(start + 8, 8, false)).toBe(-5); // not at the write pointer
    expect(zones.write(start, 8, false)).toBe(start);
    expect(zones.condition(1)).toBe(C.IMP_OPEN);
    expect(zones.write(start + 8, MiB, false)).toBe(-5); // past the capacity
    expect(zones.write(start + 8, MiB - 8, false)).toBe(start + 8);
    expect(zones.condition(1)).toBe(C.FULL);
    expect(zones.write(3 * 8 * MiB + 100, 8, false)).toBe(-5);
    expect(zones.write(100, 8, false)).toBe(100); // conventional: anywhere
  });

  it('answers a zone append with where it landed', () => {
    const zones = table();
    const start = zones.start(2);
    expect(zones.write(start + 17, 8, true)).toBe(start);
    expect(zones.write(start + 3, 16, true)).toBe(start + 8);
    expect(zones.writePointer(2)).toBe(start + 24);
    expect(zones.write(5, 8, true)).toBe(-5); // no append to a conventional zone
  });

  it('keeps zone_max_open and zone_max_active: closes an implicit open zone, refuses past active', () => {
    const zones = table({ zoneMaxOpen: 2, zoneMaxActive: 3 });
    expect(zones.write(zones.start(1), 8, false)).toBeGreaterThan(0);
    expect(zones.write(zones.start(2), 8, false)).toBeGreaterThan(0);
    expect(zones.write(zones.start(3), 8, false)).toBeGreaterThan(0); // zone 1 was closed for it
    expect([zones.condition(1), zones.condition(2), zones.condition(3)]).toEqual([C.CLOSED, C.IMP_OPEN, C.IMP_OPEN]);
    expect(zones.write(zones.start(4), 8, false)).toBe(-75); // 3 active: BLK_STS_ZONE_ACTIVE_RESOURCE
    expect(zones.manage(ReqOp.ZoneOpen, zones.start(2))).toBe(0);
    expect(zones.manage(ReqOp.ZoneOpen, zones.start(3))).toBe(0);
    expect(zones.manage(ReqOp.ZoneOpen, zones.start(1))).toBe(-109); // 2 explicitly open: BLK_STS_ZONE_OPEN_RESOURCE
    expect(zones.manage(ReqOp.ZoneFinish, zones.start(3))).toBe(0);
    expect([zones.condition(3), zones.writePointer(3)]).toEqual([C.FULL, zones.start(4)]);
    expect(zones.manage(ReqOp.ZoneReset, zones.start(3))).toBe(0);
    expect([zones.condition(3), zones.writePointer(3)]).toEqual([C.EMPTY, zones.start(3)]);
    expect(zones.manage(ReqOp.ZoneClose, zones.start(2))).toBe(0);
    expect(zones.condition(2)).toBe(C.CLOSED);
    expect(zones.manage(ReqOp.ZoneResetAll, 0)).toBe(0);
    expect([1, 2, 3].map((z) => zones.condition(z))).toEqual([C.EMPTY, C.EMPTY, C.EMPTY]);
    expect(zones.manage(ReqOp.ZoneReset, zones.start(2) + 8)).toBe(-5); // not a zone's start
  });

  it('reports zones as struct blk_zone, zeros after the last', () => {
    const zones = table();
    zones.write(zones.start(1), 64, false);
    const out = new DataView(new ArrayBuffer(BlkZone.size * 4));
    out.setUint8(3 * BlkZone.size + BlkZone.cond, 0xff);
    expect(zones.report(zones.start(7), 3, out)).toBe(3 * BlkZone.size);
    expect(getU64(out, BlkZone.start)).toBe(zones.start(7));
    expect(getU64(out, BlkZone.size + BlkZone.len)).toBe(MiB); // the runt
    expect(getU64(out, 2 * BlkZone.size + BlkZone.len)).toBe(0); // nothing past the last zone
    expect(zones.report(0, 2, out)).toBe(2 * BlkZone.size);
    expect([
      out.getUint8(BlkZone.type),
      out.getUint8(BlkZone.size + BlkZone.type),
      out.getUint8(BlkZone.size + BlkZone.cond),
    ]).toEqual([1, 2, C.IMP_OPEN]);
    expect(getU64(out, BlkZone.size + BlkZone.wp)).toBe(zones.start(1) + 64);
  });

  it('starts zones read-only, offline or full as configured', () => {
    const zones = table({ zoneReadonly: 1, zoneOffline: 1 });
    expect([zones.condition(1), zones.condition(2), zones.condition(3)]).toEqual([C.READONLY, C.OFFLINE, C.EMPTY]);
    expect(zones.write(zones.start(1), 8, false)).toBe(-5);
    expect(zones.readable(zones.start(1))).toBe(true);
    expect(zones.readable(zones.start(2))).toBe(false);
    expect(zones.manage(ReqOp.ZoneReset, zones.start(2))).toBe(-5);
    const full = table({ zoneFull: 1 });
    expect([full.condition(0), full.condition(1), full.writePointer(1)]).toEqual([C.NOT_WP, C.FULL, full.start(2)]);
    expect(full.write(full.start(1), 8, false)).toBe(-5);
    expect(full.manage(ReqOp.ZoneReset, full.start(1))).toBe(0);
    expect(full.write(full.start(1), 8, false)).toBe(full.start(1));
    expect(() =>
      zoneGeometryOf(
        nullSettings({
          sizeBytes: 2 ** 26,
          logicalBlockSize: 512,
          zoned: 1,
          zoneSize: 8,
          zoneReadonly: 6,
          zoneOffline: 3,
        }),
      ),
    ).toThrow('bad --zone_readonly/--zone_offline: the device has 8 sequential zone(s)');
  });

  it('refuses a layout that cannot be, in one line', () => {
    expect(() =>
      zoneGeometryOf(nullSettings({ sizeBytes: 2 ** 26, logicalBlockSize: 512, zoned: 1, zoneSize: 12 })),
    ).toThrow("bad --zone_size 12: a zone's size must be a power of two MiB");
    expect(() =>
      zoneGeometryOf(nullSettings({ sizeBytes: 2 ** 26, logicalBlockSize: 512, zoned: 1, zoneSize: 8, zoneNrConv: 8 })),
    ).toThrow('bad --zone_nr_conv 8: the device has 8 zone(s)');
    expect(() => nullConfigFrom({ zone_size: 8 }, 2)).toThrow('--zone_size needs --zoned 1');
  });
});
