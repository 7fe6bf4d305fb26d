import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Where daemons record their devices (tmpfs: gone at reboot, as the devices are). */
export const runDir = process.env['TSUBLK_RUN_DIR'] ?? '/run/tsublk';

/** What the daemon records of its device, for `list` and (later) `recover`. */
export interface RunRecord {
  readonly devId: number;
  readonly pid: number;
  readonly target: { readonly name: string; readonly type: number; readonly config: unknown; readonly devSize: number };
  readonly queues: ReadonlyArray<{ readonly queueId: number; readonly tid: number; readonly cpus: readonly number[] }>;
  /** Names of the target's counters in the stats file, after enters and requests. */
  readonly statistics: readonly string[];
  readonly createdAt: string;
}

export function runFilePath(devId: number): string {
  return path.join(runDir, `${devId}.json`);
}

export function writeRunRecord(record: RunRecord): void {
  mkdirSync(runDir, { recursive: true, mode: 0o755 });
  const file = runFilePath(record.devId);
  // Write then rename: a reader never sees half a file.
  writeFileSync(`${file}.tmp`, JSON.stringify(record, null, 2) + '\n', { mode: 0o644 });
  renameSync(`${file}.tmp`, file);
}

/** The record, or null when it is missing or unreadable (the kernel's own info still lists the device). */
export function readRunRecord(devId: number): RunRecord | null {
  try {
    return JSON.parse(readFileSync(runFilePath(devId), 'utf8')) as RunRecord;
  } catch {
    return null;
  }
}

/** Removes the device's record and its daemon's log: all that a cleanly deleted device leaves. */
export function removeRunRecord(devId: number): void {
  rmSync(runFilePath(devId), { force: true });
  rmSync(`${runFilePath(devId)}.tmp`, { force: true });
  rmSync(path.join(runDir, `${devId}.log`), { force: true });
  rmSync(path.join(runDir, `${devId}.stats`), { force: true });
}
