import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import type { UblkParams } from './params.js';
import path from 'node:path';

/**
 * Where daemons record their devices (tmpfs: gone at reboot, as the devices are): /run/tsublk
 * for root; a user's own directory for unprivileged devices (their runtime dir, else /tmp).
 */
function defaultRunDir(): string {
  const uid = process.geteuid?.() ?? 0;
  if (uid === 0) return '/run/tsublk';
  const runtime = process.env['XDG_RUNTIME_DIR'];
  return runtime !== undefined && runtime !== ''
    ? path.join(runtime, 'tsublk')
    : path.join(os.tmpdir(), `tsublk-${uid}`);
}

export const runDir = process.env['TSUBLK_RUN_DIR'] ?? defaultRunDir();

/** Creates the run directory; a user's must be their own (no one else may plant files in it). */
export function makeRunDir(): void {
  const uid = process.geteuid?.() ?? 0;
  mkdirSync(runDir, { recursive: true, mode: uid === 0 ? 0o755 : 0o700 });
  const owner = statSync(runDir).uid;
  if (owner !== uid)
    throw new Error(`${runDir} belongs to uid ${owner}, not to you (${uid}): remove it or set TSUBLK_RUN_DIR`);
}

/** What this layer reads of a recorded plan (the CLI's AddPlan, which it does not know). */
export interface RecordedPlan {
  readonly target: string;
  readonly flags: number;
  readonly queues: number;
  /** Threads serving the queues (--per_io_tasks); absent in the records of earlier versions: one per queue. */
  readonly threads?: number;
  /** Where the queue threads run (placement.ts); absent in the records of earlier versions: beside. */
  readonly placement?: string;
}

/** How many threads the recorded plan asked for (what a daemon that recovers the device starts ahead). */
export function recordedThreads(plan: RecordedPlan): number {
  return plan.threads ?? plan.queues;
}

/** How many queues the recorded daemon served (its threads name each queue once or more). */
export function recordedQueueCount(record: RunRecord): number {
  return new Set(record.queues.map((queue) => queue.queueId)).size;
}

/** What the daemon records of its device, for `list` and (later) `recover`. */
export interface RunRecord<Plan extends RecordedPlan = RecordedPlan> {
  readonly devId: number;
  readonly pid: number;
  /** The validated `add` this device came from: `recover` rebuilds the same target from it. */
  readonly plan: Plan;
  /** Set by `recover`: how long START_USER_RECOVERY to LIVE took in the new daemon. */
  readonly recoveredInMs?: number;
  readonly target: { readonly name: string; readonly type: number; readonly config: unknown; readonly devSize: number };
  /** How request data moves: UBLK_F_USER_COPY, per-tag buffers, or UBLK_F_AUTO_BUF_REG. */
  readonly dataPath: 'usercopy' | 'copy' | 'zerocopy';
  /** Files that go with the device (a /dev/shm backing): whoever deletes it removes them. */
  readonly ownedFiles: readonly string[];
  /**
   * The threads serving the queues, in the stats file's slot order: one per queue, or (with
   * --per_io_tasks) several, each with the queue whose share of tags it serves.
   */
  readonly queues: ReadonlyArray<{ readonly queueId: number; readonly tid: number; readonly cpus: readonly number[] }>;
  /** What `list` shows of the disk's parameters (fixed while the device lives): list reads them here, not through GET_PARAMS. */
  readonly params?: Pick<UblkParams, 'logicalBlockShift' | 'devSectors' | 'devt'>;
  /** Names of the target's counters in the stats file, after enters and requests. */
  readonly statistics: readonly string[];
  readonly createdAt: string;
}

export function runFilePath(devId: number): string {
  return path.join(runDir, `${devId}.json`);
}

export function writeRunRecord(record: RunRecord<RecordedPlan>): void {
  makeRunDir();
  const file = runFilePath(record.devId);
  // Write then rename: a reader never sees half a file.
  writeFileSync(`${file}.tmp`, JSON.stringify(record, null, 2) + '\n', { mode: 0o644 });
  renameSync(`${file}.tmp`, file);
}

/** The record, or null when it is missing or unreadable (the kernel's own info still lists the device). */
export function readRunRecord(devId: number): RunRecord | null {
  try {
    return parseRunRecord(readFileSync(runFilePath(devId), 'utf8'));
  } catch {
    return null;
  }
}

/**
 * Checks a record's shape as far as `recover` relies on it; throws saying what is wrong. `Plan`
 * is the plan type its writer recorded (the CLI's AddPlan).
 */
export function parseRunRecord<Plan extends RecordedPlan = RecordedPlan>(text: string): RunRecord<Plan> {
  const record = JSON.parse(text) as Partial<RunRecord> | null;
  const plan = record?.plan;
  if (typeof record?.devId !== 'number' || typeof record.pid !== 'number')
    throw new Error('no device id or daemon pid');
  if (typeof plan?.target !== 'string' || typeof plan.flags !== 'number' || typeof record.target?.config !== 'object')
    throw new Error('no target or plan');
  return record as RunRecord<Plan>;
}

/** Removes the device's record, its daemon's log and the files it owned: all a deleted device leaves. */
export function removeRunRecord(devId: number): void {
  for (const file of readRunRecord(devId)?.ownedFiles ?? []) rmSync(file, { force: true });
  rmSync(runFilePath(devId), { force: true });
  rmSync(`${runFilePath(devId)}.tmp`, { force: true });
  rmSync(path.join(runDir, `${devId}.log`), { force: true });
  rmSync(path.join(runDir, `${devId}.log.1`), { force: true });
  rmSync(path.join(runDir, `${devId}.stats`), { force: true });
  rmSync(path.join(runDir, `${devId}.sock`), { force: true });
}
