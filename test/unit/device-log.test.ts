import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { FailureReports } from '../../src/ublk/failure-reports.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'tsublk-log-'));
vi.stubEnv('TSUBLK_RUN_DIR', dir); // run-file.ts reads it when first imported, below
const { DeviceLog, LOG_CAP_BYTES, deviceLogPath, rotatedLogPath } = await import('../../src/ublk/device-log.js');

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  vi.unstubAllEnvs();
});

describe('the device log', () => {
  it('keeps the lines at its level and above, each stamped with time and level', () => {
    const log = new DeviceLog(7, 'warn');
    log.error('one');
    log.warn('two');
    log.info('three');
    log.debug('four');
    const lines = readFileSync(deviceLogPath(7), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\S+Z error one$/);
    expect(lines[1]).toMatch(/ warn two$/);
  });

  it('moves a full log to <id>.log.1 and starts a new one, keeping one old file', () => {
    writeFileSync(deviceLogPath(8), 'x'.repeat(LOG_CAP_BYTES));
    const log = new DeviceLog(8);
    log.info('after the cap');
    expect(readFileSync(rotatedLogPath(8), 'utf8')).toHaveLength(LOG_CAP_BYTES);
    expect(readFileSync(deviceLogPath(8), 'utf8')).toMatch(/ info after the cap\n$/);
    writeFileSync(deviceLogPath(8), 'y'.repeat(LOG_CAP_BYTES));
    log.info('again');
    expect(readFileSync(rotatedLogPath(8), 'utf8')).toBe('y'.repeat(LOG_CAP_BYTES));
    expect(existsSync(`${rotatedLogPath(8)}.1`)).toBe(false);
  });
});

describe('target failure reports', () => {
  it('passes on 10 per 5 s and then says how many it held back', () => {
    vi.useFakeTimers({ now: 1_000_000 });
    try {
      const seen: string[] = [];
      const reports = new FailureReports((detail) => seen.push(detail));
      for (let i = 0; i < 25; i++) reports.report(`failure ${i}`);
      expect(seen).toEqual(Array.from({ length: 10 }, (_, i) => `failure ${i}`));
      vi.advanceTimersByTime(5000);
      reports.report('failure 25');
      expect(seen[10]).toBe(
        '(15 more target failures were not logged; stats counts them all as target_failures) failure 25',
      );
      reports.report('failure 26');
      expect(seen[11]).toBe('failure 26');
    } finally {
      vi.useRealTimers();
    }
  });
});
