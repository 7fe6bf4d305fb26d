import { readdirSync } from 'node:fs';
import { UBLK_F, UBLK_S_DEV } from '../../native-bindings/ublk_cmd.js';
import { ControlCommandError, type ControlDevice } from '../ublk/control.js';
import type { DeviceInfo } from '../ublk/device-info.js';
import { featureNames } from '../ublk/features.js';
import type { UblkParams } from '../ublk/params.js';
import { type RunRecord, readRunRecord, recordedQueueCount } from '../ublk/run-file.js';
import { type QueueStats, readCounters } from '../ublk/stats-file.js';
import { serviceSummary, serviceTimesJson } from '../ublk/service-time.js';
import { namedValues } from './output.js';
import { threadCpusNow } from './thread-cpus.js';

export { readCounters } from '../ublk/stats-file.js';

/** The ids of every ublk device the kernel has (its /dev/ublkcN nodes). */
export function deviceIds(): number[] {
  let names: string[];
  try {
    names = readdirSync('/dev');
  } catch {
    return [];
  }
  return names
    .map((name) => /^ublkc(\d+)$/.exec(name)?.[1])
    .filter((id): id is string => id !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

/** Everything `list` shows of one device. */
export interface DeviceView {
  readonly info: DeviceInfo;
  readonly params: Pick<UblkParams, 'logicalBlockShift' | 'devSectors' | 'devt'>;
  readonly affinity: ReadonlyArray<readonly number[]>;
  readonly record: RunRecord | null;
  readonly verbose: boolean;
  /** Live counters per queue, by name (with -v). */
  readonly counters: readonly QueueStats[] | null;
}

export function stateName(state: number): string {
  return Object.entries(UBLK_S_DEV).find(([, value]) => value === state)?.[0] ?? `UNKNOWN(${state})`;
}

/**
 * The kernel's view of a device plus the daemon's record; null if it vanished meanwhile. A
 * device whose live daemon recorded it costs one GET_DEV_INFO: its parameters and queue
 * affinities come from the record; others are asked of the kernel.
 */
export function describeDevice(control: ControlDevice, devId: number, verbose: boolean): DeviceView | null {
  try {
    const info = control.getDeviceInfo(devId);
    const record = readRunRecord(devId);
    // The record speaks for the device only while the daemon that wrote it serves it.
    const current =
      record !== null && record.pid === info.ublksrvPid && recordedQueueCount(record) === info.queues ? record : null;
    const params = current?.params ?? control.getParams(devId);
    // Placement auto: the threads move (placement-by-mode.ts), so where they are now, not where they began.
    const moving = current?.plan.placement === 'auto';
    const affinity =
      current?.params !== undefined
        ? Array.from({ length: info.queues }, (_, q) => {
            const queue = current.queues.find((thread) => thread.queueId === q);
            return (moving && queue !== undefined ? threadCpusNow(current.pid, queue.tid) : null) ?? queue?.cpus ?? [];
          })
        : Array.from({ length: info.queues }, (_, q) => control.queueAffinity(devId, q));
    return {
      info,
      params,
      affinity,
      record,
      verbose,
      counters: verbose ? readCounters(devId, info.queues, record) : null,
    };
  } catch (error) {
    if (error instanceof ControlCommandError && error.code === 'ENODEV') return null;
    throw error;
  }
}

/** How the device's queues take requests: one ublk command per tag, or batches (UBLK_F_BATCH_IO). */
function ioCommands(info: DeviceInfo): 'batch' | 'per-tag' {
  return (info.flags & UBLK_F.BATCH_IO) !== 0 ? 'batch' : 'per-tag';
}

/** `list`'s text for one device, in the C ublk utility's shape (scripts parse it by field). */
export function formatDevice(view: DeviceView): string {
  const { info, params, record } = view;
  const devt = params.devt;
  const lines = [
    `dev id ${info.devId}: nr_hw_queues ${info.queues} queue_depth ${info.depth} block size ${2 ** params.logicalBlockShift} dev_capacity ${params.devSectors}`,
    `\tmax rq size ${info.maxIoBufBytes} daemon pid ${info.ublksrvPid} state ${stateName(info.state)}`,
    `\tflags 0x${info.flags.toString(16)} [ ${featureNames(info.flags)
      .map((n) => `${n} `)
      .join('')}]`,
    `\tublkc: ${devt?.charMajor ?? '?'}:${devt?.charMinor ?? '?'} ublkb: ${devt?.diskMajor ?? '?'}:${devt?.diskMinor ?? '?'} owner: ${info.ownerUid}:${info.ownerGid}`,
  ];
  view.affinity.forEach((cpus, q) => {
    const tid = record?.queues.find((queue) => queue.queueId === q)?.tid ?? 0;
    lines.push(`\tqueue ${q}: tid ${tid} affinity(${cpus.map((c) => `${c} `).join('')})`);
  });
  if (record !== null)
    lines.push(
      `\ttarget ${JSON.stringify({ dev_size: record.target.devSize, name: record.target.name, type: record.target.type })}`,
    );
  // -v: the target's settings (null_blk's attributes for the null target), as the daemon has them.
  if (record !== null && view.verbose) lines.push(`\tconfig ${JSON.stringify(record.target.config)}`);
  if (view.verbose) lines.push(`\tdata_path ${record?.dataPath ?? '?'} io_commands ${ioCommands(info)}`);
  view.counters?.forEach(({ counters }, q) => lines.push(`\tstats queue ${q}: ${namedValues(counters)}`));
  // Service times in µs: the mean, and the bucket bounds (powers of two) under which p50/p99/p99.9 fall.
  view.counters?.forEach(({ serviceTimes }, q) =>
    lines.push(`\tservice queue ${q}: ${namedValues(serviceSummary(serviceTimes))}`),
  );
  return lines.join('\n');
}

/** `list --json`'s object for one device. */
export function deviceJson(view: DeviceView): Record<string, unknown> {
  const { info, params, record } = view;
  return {
    dev_id: info.devId,
    nr_hw_queues: info.queues,
    queue_depth: info.depth,
    block_size: 2 ** params.logicalBlockShift,
    dev_capacity: params.devSectors,
    max_rq_size: info.maxIoBufBytes,
    daemon_pid: info.ublksrvPid,
    state: stateName(info.state),
    flags: info.flags,
    flag_names: featureNames(info.flags),
    ublkc: params.devt === undefined ? null : `${params.devt.charMajor}:${params.devt.charMinor}`,
    ublkb: params.devt === undefined ? null : `${params.devt.diskMajor}:${params.devt.diskMinor}`,
    owner: { uid: info.ownerUid, gid: info.ownerGid },
    queues: view.affinity.map((cpus, q) => ({
      queue: q,
      tid: record?.queues.find((queue) => queue.queueId === q)?.tid ?? null,
      // Every thread serving the queue: one, or its share of --nthreads (--per_io_tasks).
      tids: record?.queues.filter((queue) => queue.queueId === q).map((queue) => queue.tid) ?? [],
      affinity: cpus,
    })),
    data_path: record?.dataPath ?? null,
    io_commands: ioCommands(info),
    target:
      record === null
        ? null
        : {
            dev_size: record.target.devSize,
            name: record.target.name,
            type: record.target.type,
            config: record.target.config,
          },
    ...(view.counters === null
      ? {}
      : {
          stats: view.counters.map(({ counters, serviceTimes }) => ({
            ...counters,
            service_time: serviceTimesJson(serviceTimes),
          })),
        }),
  };
}
