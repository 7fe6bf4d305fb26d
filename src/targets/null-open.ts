import type { DeviceShape, OpenedTarget } from '../blk/target.js';
import { UserError } from '../errors.js';
import { type OpenBacking, openBacking } from './memory-backing.js';
import { formatBadblocks, parseBadblocks } from './null-badblocks.js';
import { type NullConfig, type NullRuntime, type NullSettings, nullSettings, zoneGeometryOf } from './null-config.js';
import { NullDeviceState } from './null-device-state.js';
import { nullChangeFrom } from './null-options.js';
import { type ZoneGeometry, ZoneTable } from './null-zones.js';
import { WriteCache } from './write-cache.js';

// The null target's daemon side: what a device shares (its state, store, cache and zones) and
// what `tsublk set` and `tsublk power` change while it runs.

/** The settings as recorded and shown (`list -v`): the configuration with what `set` and `power` changed. */
function recorded(settings: NullSettings, state: NullDeviceState): NullSettings {
  // (The daemon leaves the runtime out of the record.)
  return {
    ...settings,
    mbps: state.mbps,
    badblocks: formatBadblocks(state.badblocks.list()),
    badblocksOnce: state.badblocksOnce ? 1 : 0,
    badblocksPartialIo: state.badblocksPartialIo ? 1 : 0,
    power: state.powered ? 1 : 0,
    timeoutInject: state.timeoutPercent,
    requeueInject: state.requeuePercent,
  };
}

export function openNull(
  config: NullConfig,
  devId: number,
  reattach: boolean,
  shape: DeviceShape,
): OpenedTarget<NullConfig> {
  let settings = nullSettings(config);
  if (settings.initHctxFail >= shape.queues)
    throw new Error(
      `bad --init_hctx_fail ${settings.initHctxFail}: the device has ${shape.queues} queue(s) (the kernel gives at most one per CPU); use an index below ${shape.queues}`,
    );
  if (reattach && settings.cacheSize > 0)
    throw new UserError(
      `device ${devId} has a write cache, which died with its daemon: it cannot be recovered; delete it with tsublk del -n ${devId}`,
    );
  let geometry: ZoneGeometry | null;
  try {
    geometry = settings.zoned === 1 ? zoneGeometryOf(settings) : null; // before anything is acquired
  } catch (error) {
    throw new UserError((error as Error).message);
  }
  const backings: OpenBacking[] = [];
  let unwatch = (): void => undefined;
  const closeAll = (deleted: boolean): void => {
    unwatch();
    for (const backing of backings.splice(0)) backing.close(deleted);
  };
  try {
    if (settings.memoryBacked === 1)
      backings.push(openBacking(null, settings.sizeBytes, devId, reattach ? { owned: true } : null));
    if (settings.cacheSize > 0)
      backings.push(openBacking(null, settings.sizeBytes, devId, null, `tsublk-${devId}.durable`));
  } catch (error) {
    closeAll(!reattach);
    throw error;
  }
  const [store, durable] = backings.map((opened) => opened.backing);
  const shared = NullDeviceState.create();
  const state = new NullDeviceState(shared);
  state.mbps = settings.mbps;
  state.badblocks.edit(parseBadblocks(settings.badblocks));
  state.badblocksOnce = settings.badblocksOnce === 1;
  state.badblocksPartialIo = settings.badblocksPartialIo === 1;
  state.timeoutPercent = settings.timeoutInject;
  state.requeuePercent = settings.requeueInject;
  const cacheBuffer =
    settings.cacheSize > 0 ? WriteCache.create(settings.sizeBytes, settings.cacheSize * 2 ** 20) : null;
  const zones = geometry === null ? null : ZoneTable.create(geometry);
  const runtime: NullRuntime = {
    shared,
    cache: cacheBuffer,
    zones,
    storeFd: store?.fd ?? -1,
    storeAddress: store?.address ?? 0,
    durableFd: durable?.fd ?? -1,
    durableAddress: durable?.address ?? 0,
    ioTimeoutFile: `/sys/block/ublkb${devId}/queue/io_timeout`,
  };
  const cache =
    cacheBuffer === null || store === undefined || durable === undefined
      ? null
      : new WriteCache(cacheBuffer, state.mutex, store.address, durable.address, settings.sizeBytes);
  return {
    config: { ...settings, runtime },
    ownedFiles: backings.map((opened) => opened.backing.path),
    close: closeAll,
    watch(listener) {
      unwatch = state.watch(() => listener(recorded(settings, state)));
    },
    change(values) {
      const { power, ...rest } = values;
      const change = nullChangeFrom(rest);
      if (power !== undefined && power !== 0 && power !== 1)
        throw new UserError(`bad power ${String(power)}: use tsublk power -n ${devId} off or on`);
      if (change.mbps !== undefined) state.mbps = change.mbps;
      if (change.badblocks !== undefined) state.badblocks.edit(parseBadblocks(change.badblocks));
      if (change.badblocksOnce !== undefined) state.badblocksOnce = change.badblocksOnce === 1;
      if (change.badblocksPartialIo !== undefined) state.badblocksPartialIo = change.badblocksPartialIo === 1;
      if (change.timeoutInject !== undefined) state.timeoutPercent = change.timeoutInject;
      if (change.requeueInject !== undefined) state.requeuePercent = change.requeueInject;
      if (power === 0 && state.powered) {
        // First fail everything, then drop what the cache never wrote back: a power cut.
        state.powered = false;
        cache?.powerCut();
      } else if (power === 1) state.powered = true;
      return recorded(settings, state);
    },
    // A plain null device stores nothing: its size is a number. A store, a cache or zones are
    // laid out for the size the device started with.
    resize(sizeBytes) {
      if (settings.memoryBacked === 1 || settings.zoned === 1)
        throw new UserError(
          `device ${devId} is a ${settings.zoned === 1 ? 'zoned' : 'memory_backed'} null device, laid out for its size: only a plain null device (or a memory or loop device) can be resized`,
        );
      settings = { ...settings, sizeBytes };
      return recorded(settings, state);
    },
  };
}
