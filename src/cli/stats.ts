import { UblkError } from '../ublk/errors.js';
import { readRunRecord, recordedQueueCount } from '../ublk/run-file.js';
import { type QueueStats, readCounters, statsPath } from '../ublk/stats-file.js';
import { serviceSummary, serviceTimesJson } from '../ublk/service-time.js';
import { existsSync } from 'node:fs';
import { metricsText } from './metrics-text.js';
import { namedValues, printOut, printErr } from './output.js';
import { everyInterval } from './watch.js';

/** The device's target and each queue's counters as the stats file holds them; one line when there are none. */
function deviceCounters(devId: number): { target: string; queues: QueueStats[] } {
  const record = readRunRecord(devId);
  if (record === null)
    throw new UblkError(
      `no record of device ${devId} in the run directory: is it a tsublk device? (tsublk list -n ${devId})`,
    );
  const counters = readCounters(devId, recordedQueueCount(record), record);
  if (counters === null)
    throw new UblkError(
      `device ${devId} has no counters (${statsPath(devId)} is gone): its daemon is not running; see tsublk list -n ${devId}`,
    );
  return { target: record.target.name, queues: counters };
}

/** One queue's counters for `stats`: the queue's own, in_flight, then the target's HwData counters. */
function queueRow(queue: Record<string, number>, q: number): Record<string, number> {
  const {
    enters = 0,
    requests = 0,
    completed = 0,
    errors = 0,
    target_failures = 0,
    spins = 0,
    spin_hits = 0,
    ...target
  } = queue;
  return {
    queue: q,
    requests,
    completed,
    in_flight: requests - completed,
    errors,
    target_failures,
    enters,
    spins,
    spin_hits,
    ...target,
  };
}

/** The text form: per queue, its counters then its service times (µs, bucket bounds for percentiles). */
function formatRows(devId: number, queues: readonly QueueStats[]): string {
  return (
    [
      `dev id ${devId}: ${queues.length} queue(s)`,
      ...queues.map(({ counters, serviceTimes }, q) => {
        const { queue, ...row } = queueRow(counters, q);
        const service = Object.fromEntries(
          Object.entries(serviceSummary(serviceTimes)).map(([name, value]) => [`service_${name}`, value]),
        );
        return `\tqueue ${queue}: ${namedValues(row)} ${namedValues(service)}`;
      }),
    ].join('\n') + '\n'
  );
}

/**
 * `stats -n ID [--json] [--watch]`: each queue's counters, kept in its HwData by the target and
 * published by the queue's thread as it serves. `--watch` prints them every interval until the
 * device goes away or SIGINT.
 */
export async function stats(
  devId: number,
  format: 'text' | 'json' | 'prometheus',
  watch: boolean,
  intervalMs: number,
): Promise<void> {
  const print = (): void => {
    if (format === 'prometheus') {
      printOut(metricsText([{ devId, ...deviceCounters(devId) }]));
      return;
    }
    const { queues } = deviceCounters(devId);
    const rows = queues.map(({ counters, serviceTimes }, q) => ({
      ...queueRow(counters, q),
      service_time: serviceTimesJson(serviceTimes),
    }));
    printOut(
      format === 'json'
        ? JSON.stringify({ dev_id: devId, time: new Date().toISOString(), queues: rows }) + '\n'
        : formatRows(devId, queues),
    );
  };
  print();
  if (!watch) return;
  await everyInterval(intervalMs, () => {
    if (!existsSync(statsPath(devId))) {
      printErr(`tsublk: device ${devId} is gone\n`);
      return false;
    }
    print();
    return true;
  });
}
