import { readdirSync } from 'node:fs';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import { UblkError } from '../ublk/errors.js';
import { readRunRecord, recordedQueueCount, runDir } from '../ublk/run-file.js';
import { readCounters } from '../ublk/stats-file.js';
import { type DeviceCounters, metricsText } from './metrics-text.js';
import { printErr } from './output.js';

/** Every device this machine's daemons record (run directory) that has live counters. */
export function everyDeviceCounters(): DeviceCounters[] {
  let names: string[];
  try {
    names = readdirSync(runDir);
  } catch {
    return []; // no run directory: no daemon ever ran
  }
  return names
    .map((name) => /^(\d+)\.json$/.exec(name)?.[1])
    .filter((id): id is string => id !== undefined)
    .map(Number)
    .sort((a, b) => a - b)
    .flatMap((devId) => {
      const record = readRunRecord(devId);
      const queues = record === null ? null : readCounters(devId, recordedQueueCount(record), record);
      return record === null || queues === null ? [] : [{ devId, target: record.target.name, queues }];
    });
}

/** `[HOST]:PORT` of --listen: the host defaults to every interface, as exporters do. */
export function parseListen(listen: string): { host: string; port: number } {
  const match = /^(.*):(\d+)$/.exec(listen);
  const port = Number(match?.[2]);
  if (match === null || !Number.isInteger(port) || port > 65535)
    throw new UblkError(`bad --listen ${listen}: use [HOST]:PORT, as :9483 or 127.0.0.1:9483`);
  const host = (match[1] ?? '').replace(/^\[(.*)\]$/, '$1'); // [::1]:9483
  return { host: host === '' ? '0.0.0.0' : host, port };
}

/**
 * `metrics --listen [HOST]:PORT`: serves GET /metrics, every device's counters in the Prometheus
 * text format, read from the stats files at each scrape. It opens no device and loads no target
 * code. Serves until SIGINT or SIGTERM.
 */
export async function serveMetrics(listen: string): Promise<void> {
  const { host, port } = parseListen(listen);
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    if (request.method !== 'GET' || (request.url ?? '').split('?')[0] !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('tsublk serves /metrics only\n');
      return;
    }
    const body = metricsText(everyDeviceCounters());
    response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new UblkError(`cannot listen on ${listen} (${error.code ?? error.message}): pick another port`)),
    );
    server.listen(port, host, resolve);
  });
  const address = server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : port;
  printErr(`tsublk: serving metrics on http://${host.includes(':') ? `[${host}]` : host}:${bound}/metrics\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
