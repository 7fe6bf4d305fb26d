import { sdNotify, startWatchdog } from './sd-notify.js';
import { EXIT } from './exit-codes.js';
import { markStart } from '../start-trace.js';
import { rmSync } from 'node:fs';
import { UBLK_F, UBLK_F_BIT, UBLK_S_DEV } from '../../native-bindings/ublk_cmd.js';
import { loadTarget } from '../targets/load-target.js';
import type { AnyTarget } from '../blk/target.js';
import { ControlDevice } from '../ublk/control.js';
import { UblkDevice } from '../ublk/device.js';
import { blockDevicePath, waitForAccess } from '../ublk/device-nodes.js';
import { ZERO_COPY_FLAGS, lacksFeature } from '../ublk/features.js';
import { type RunRecord, removeRunRecord, runFilePath, writeRunRecord } from '../ublk/run-file.js';
import type { Server } from 'node:net';
import { controlSocketPath, listenControl } from './control-socket.js';
import type { AddPlan } from './plan.js';
import { QueueWorkerPool } from '../ublk/queue-workers.js';
import { startQueueWorker } from './queue-worker-entry.js';
import type { UblkParams } from '../ublk/params.js';
import { describeDevice, deviceJson, formatDevice } from './devices.js';
import type { DeviceDescription } from './device-description.js';

/** What the daemon reports once: the device is live (and how `list` shows it), or why it is not. */
export type ServeStatus =
  | { readonly ok: true; readonly devId: number; readonly device: DeviceDescription }
  | { readonly ok: false; readonly error: string };

/** Refuses flags the running kernel lacks, naming the feature and the kernel that brought it. */
function checkFeatures(control: ControlDevice, flags: number): void {
  if (control.features === 0) return; // no GET_FEATURES (before 6.5): the kernel itself will judge
  for (const [name, bit] of Object.entries(UBLK_F_BIT)) {
    const value = 2 ** bit;
    if (Math.floor(flags / value) % 2 === 1 && Math.floor(control.features / value) % 2 === 0) {
      throw lacksFeature(name as keyof typeof UBLK_F_BIT, 'leave the option out or use a newer kernel');
    }
  }
}

/** The parameters `list` shows, as the record keeps them. */
function listedParams(params: UblkParams): NonNullable<RunRecord['params']> {
  return {
    logicalBlockShift: params.logicalBlockShift,
    devSectors: params.devSectors,
    ...(params.devt === undefined ? {} : { devt: params.devt }),
  };
}

/** The target's configuration as recorded: what the queues got, less this process's own fds and addresses. */
function recordedConfig(config: unknown): unknown {
  if (typeof config !== 'object' || config === null || !('runtime' in config)) return config;
  return Object.fromEntries(Object.entries(config).filter(([key]) => key !== 'runtime'));
}

/** A device to recover rather than create: its id and the completed target configuration its record keeps. */
export interface Recovery {
  readonly devId: number;
  readonly targetConfig: unknown;
}

/**
 * The daemon: creates the device (or, with `recovery`, takes over one whose daemon died),
 * records it, reports, serves until SIGTERM/SIGINT, then stops and deletes it and removes its
 * record. Resolves with the exit status.
 */
export async function serve(
  plan: AddPlan,
  report: (status: ServeStatus) => void,
  recovery: Recovery | null = null,
  workers: QueueWorkerPool | null = null,
): Promise<number> {
  let control: ControlDevice;
  let device: UblkDevice;
  let recoveredInMs: number | null = null;
  let target: AnyTarget;
  try {
    target = await loadTarget(plan.target);
    control = ControlDevice.open();
    checkFeatures(control, plan.flags & ~UBLK_F.CMD_IOCTL_ENCODE);
    // The default data path: user copy (one copy fewer, none at all for null) where offered.
    if (plan.dataPath === 'auto' && (control.features & UBLK_F.USER_COPY) !== 0)
      plan = { ...plan, flags: plan.flags | UBLK_F.USER_COPY };
    // A target that can take zero copy gets it where offered (AUTO_BUF_REG, 6.16), else copies.
    if (plan.dataPath === 'zerocopy-or-copy' && (control.features & UBLK_F.AUTO_BUF_REG) !== 0)
      plan = { ...plan, flags: plan.flags | ZERO_COPY_FLAGS };
    // A recoverable device can also be quiesced where the kernel offers it (as the C utility
    // does): tsublk restart then replaces its daemon without failing one I/O.
    if ((plan.flags & UBLK_F.USER_RECOVERY) !== 0 && (control.features & UBLK_F.QUIESCE) !== 0)
      plan = { ...plan, flags: plan.flags | UBLK_F.QUIESCE };
  } catch (error) {
    report({ ok: false, error: (error as Error).message });
    return EXIT.REFUSED;
  }
  try {
    const options = {
      ...plan,
      target,
      targetModule: plan.target,
      targetConfig: recovery?.targetConfig ?? plan.targetConfig,
      workers: workers ?? QueueWorkerPool.empty(startQueueWorker),
    };
    const started = performance.now();
    device =
      recovery === null
        ? await UblkDevice.create(control, options)
        : await UblkDevice.recover(control, recovery.devId, options);
    if (recovery !== null) recoveredInMs = Math.round(performance.now() - started);
  } catch (error) {
    control.close();
    const code = (error as { code?: string }).code;
    const message =
      code === 'EEXIST' && plan.devId >= 0
        ? `device id ${plan.devId} is in use: pick another -n or leave it out`
        : (error as Error).message;
    report({ ok: false, error: message });
    return EXIT.REFUSED;
  }
  const devId = device.devId;
  const log = device.log;
  let record: RunRecord<AddPlan> = {
    devId,
    pid: process.pid,
    plan,
    ...(recoveredInMs === null ? {} : { recoveredInMs }),
    target: {
      name: target.name,
      type: target.type,
      config: recordedConfig(device.targetConfig),
      devSize: (device.targetConfig as { sizeBytes: number }).sizeBytes,
    },
    // Zero copy first: it has user copy beside it.
    dataPath:
      (device.info.flags & UBLK_F.AUTO_BUF_REG) !== 0
        ? 'zerocopy'
        : (device.info.flags & UBLK_F.USER_COPY) !== 0
          ? 'usercopy'
          : 'copy',
    ownedFiles: device.ownedFiles,
    queues: device.queues,
    params: listedParams(control.getParams(devId)),
    statistics: target.statistics?.names ?? [],
    createdAt: new Date().toISOString(),
  };
  writeRunRecord(record);
  markStart('daemon: run file written');
  log.info(
    `${recovery === null ? 'LIVE' : `recovered in ${recoveredInMs} ms, LIVE`}: target ${target.name}, ${device.queues.length} queue(s) of depth ${device.info.depth}, daemon pid ${process.pid}`,
  );
  /** Writes the record again with the target's new config; returns the config as recorded. */
  const rerecord = (config: unknown): unknown => {
    const recorded = recordedConfig(config);
    record = { ...record, target: { ...record.target, config: recorded } };
    writeRunRecord(record);
    return recorded;
  };
  device.watchTarget(rerecord); // a bad range that healed: list -v shows it gone
  /** tsublk resize: the target's backing, then the kernel's capacity, then the record. */
  const resize = (sizeBytes: number, truncate: boolean): unknown => {
    const before = record.target.devSize;
    const logicalBlockSize = 2 ** (record.params?.logicalBlockShift ?? 9);
    const config = device.resize(sizeBytes, logicalBlockSize, truncate);
    record = {
      ...record,
      target: { ...record.target, devSize: sizeBytes },
      ...(record.params === undefined ? {} : { params: { ...record.params, devSectors: sizeBytes / 512 } }),
    };
    const recorded = rerecord(config);
    log.info(`resized from ${before} to ${sizeBytes} bytes${truncate ? ' (--truncate)' : ''}`);
    return recorded;
  };
  let controlServer: Server | null = null;
  try {
    // tsublk set / power: the target changes, the record shows what it now is.
    controlServer = await listenControl(devId, (request) => {
      if ('resize' in request) return { ok: true, config: resize(request.resize.sizeBytes, request.resize.truncate) };
      const config = rerecord(device.changeTarget(request.change));
      log.info(`changed ${JSON.stringify(request.change)}`);
      return { ok: true, config };
    });
  } catch (error) {
    log.warn(`no control socket: ${(error as Error).message}`);
  }
  markStart('daemon: control socket listening');
  if ((device.info.flags & UBLK_F.UNPRIVILEGED_DEV) !== 0) {
    // `add` returns when the owner can use the disk: udev hands /dev/ublkbN over after START_DEV.
    try {
      await waitForAccess(blockDevicePath(devId), devId);
    } catch (error) {
      log.warn((error as Error).message);
    }
  }
  const view = describeDevice(control, devId, false);
  markStart('daemon: device described, reporting');
  report({
    ok: true,
    devId,
    device: {
      text: view === null ? `dev id ${devId}` : formatDevice(view),
      json: view === null ? { dev_id: devId } : deviceJson(view),
    },
  });

  // Under systemd (Type=notify): the unit is started once the device is LIVE.
  const tellManager = (state: string): void => {
    try {
      if (sdNotify(state)) log.debug(`told the service manager ${state.split('\n')[0] ?? ''}`);
    } catch (error) {
      log.warn(`could not tell the service manager ${state.split('\n')[0] ?? ''}: ${(error as Error).message}`);
    }
  };
  tellManager(`READY=1\nMAINPID=${process.pid}\nSTATUS=serving /dev/ublkb${devId} (target ${target.name})`);
  const stopWatchdog = startWatchdog();

  return new Promise<number>((resolve) => {
    let stopping = false;
    const shutdown = (status: number, why: string): void => {
      if (stopping) return;
      stopping = true;
      markStart(`daemon: stopping (${why})`);
      if (status === 0) log.info(why);
      else log.error(why);
      stopWatchdog();
      tellManager(`STOPPING=1\nSTATUS=${why}`);
      controlServer?.close();
      device
        .stop()
        .catch((error: unknown) => {
          log.error(`stop failed: ${(error as Error).message}`);
          status = EXIT.FAILED;
        })
        .finally(() => {
          // A clean stop leaves nothing; a failed one keeps the log for whoever looks next.
          if (status === 0) removeRunRecord(devId);
          else {
            rmSync(runFilePath(devId), { force: true });
            rmSync(controlSocketPath(devId), { force: true });
          }
          control.close();
          resolve(status);
        });
    };
    process.once('SIGTERM', () => shutdown(0, 'SIGTERM: stopping'));
    process.once('SIGINT', () => shutdown(0, 'SIGINT: stopping'));
    /** QUIESCE_DEV (tsublk restart, quiesce): leave the device QUIESCED, with I/O held, for a new daemon. */
    const quiesced = (): void => {
      stopping = true;
      stopWatchdog();
      tellManager('STOPPING=1\nSTATUS=quiesced: a new daemon recovers the device');
      log.info('quiesced (tsublk restart or quiesce): I/O is held for the daemon that recovers the device');
      controlServer?.close();
      device
        .release()
        .catch((error: unknown) => log.error(`release failed: ${(error as Error).message}`))
        .finally(() => {
          control.close();
          resolve(0);
        });
    };
    void device.whenQueuesExit().then((failures) => {
      for (const failure of failures) log.error(failure);
      if (failures.length > 0 || stopping) {
        shutdown(stopping ? EXIT.OK : EXIT.TARGET_FAILED, 'a queue stopped serving on its own: stopping the device');
        return;
      }
      // Every queue ended without a failure: the kernel aborted their fetches. A stop from
      // outside (del --safe's TRY_STOP_DEV) marks the device DEAD first: finish deleting it, as
      // for SIGTERM. QUIESCE_DEV (restart) leaves it LIVE until this daemon lets go of
      // /dev/ublkcN, which makes it QUIESCED.
      let state: number = UBLK_S_DEV.DEAD;
      try {
        state = control.getDeviceInfo(devId).state;
      } catch {
        // Gone already: stop() finds nothing left to do.
      }
      if (state === UBLK_S_DEV.DEAD) shutdown(0, 'the device was stopped (del --safe): deleting it');
      else quiesced();
    });
  });
}
