import { appendFileSync, renameSync, statSync } from 'node:fs';
import path from 'node:path';
import { makeRunDir, runDir } from './run-file.js';

/**
 * Each device's log, /run/tsublk/<id>.log: what its daemon did and every failure of its target,
 * with stacks (the daemon's stderr goes nowhere). `tsublk log -n ID` prints it. Past
 * LOG_CAP_BYTES it is moved to <id>.log.1 (one old file kept), so a target failing on every
 * request cannot fill /run.
 */
export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const LOG_CAP_BYTES = 1 << 20;

export function deviceLogPath(devId: number): string {
  return path.join(runDir, `${devId}.log`);
}

/** The file the log was moved to when it reached its cap. */
export function rotatedLogPath(devId: number): string {
  return `${deviceLogPath(devId)}.1`;
}

/** Whether every device log line also goes to stderr (add --foreground: a supervisor's journal keeps it). */
let echoToStderr = false;

/** From now on, this process's device logs also write each line to stderr. */
export function echoDeviceLogsToStderr(): void {
  echoToStderr = true;
}

/** Writes to one device's log the lines at `level` and above. */
export class DeviceLog {
  private readonly rank: number;

  constructor(
    readonly devId: number,
    level: LogLevel = 'info',
  ) {
    this.rank = LOG_LEVELS.indexOf(level);
  }

  error(line: string): void {
    this.write('error', line);
  }

  warn(line: string): void {
    this.write('warn', line);
  }

  info(line: string): void {
    this.write('info', line);
  }

  debug(line: string): void {
    this.write('debug', line);
  }

  private write(level: LogLevel, line: string): void {
    if (LOG_LEVELS.indexOf(level) > this.rank) return;
    if (echoToStderr) process.stderr.write(`tsublk: device ${this.devId}: ${level} ${line}\n`);
    const file = deviceLogPath(this.devId);
    try {
      makeRunDir();
      let size = 0;
      try {
        size = statSync(file).size;
      } catch {
        // No log yet.
      }
      if (size >= LOG_CAP_BYTES) renameSync(file, rotatedLogPath(this.devId));
      appendFileSync(file, `${new Date().toISOString()} ${level} ${line}\n`);
    } catch {
      // Nowhere to log: keep serving.
    }
  }
}
