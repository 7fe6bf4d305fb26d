import { spawnSync } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isStaticElf } from '../../vm/prerequisites.js';
import { jobScript, panicReport, passedEnvironment, shellQuote } from '../../vm/run.js';

function runJob(script: string): { status: number | null; stdout: string; stderr: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'tsublk-job-'));
  try {
    writeFileSync(path.join(dir, 'job.sh'), script);
    const result = spawnSync('bash', [path.join(dir, 'job.sh')], {
      encoding: 'utf8',
      env: { PATH: process.env['PATH'] ?? '' },
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('the guest job script', () => {
  it('runs the command in the given directory with the passed environment and keeps its status', () => {
    const dir = realpathSync(mkdtempSync(path.join(tmpdir(), "it's a dir ")));
    try {
      const result = runJob(
        jobScript('pwd; echo "$CI $TSUBLK_X"; exit 7', dir, { CI: 'true', TSUBLK_X: `a'b "c" $d` }),
      );
      expect(result.stdout).toBe(`${dir}\ntrue a'b "c" $d\n`);
      expect(result.status).toBe(7);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails with 125 and says so when the directory does not exist in the guest', () => {
    const result = runJob(jobScript('echo never', '/nonexistent/place', {}));
    expect(result.status).toBe(125);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/\/nonexistent\/place is not visible in the guest/);
  });

  it('quotes words so bash reads them back unchanged', () => {
    const word = `it's "quoted" $HOME \\ \`x\``;
    expect(spawnSync('bash', ['-c', `printf %s ${shellQuote(word)}`], { encoding: 'utf8' }).stdout).toBe(word);
  });

  it('passes CI, colour switches and TSUBLK_* variables, nothing else', () => {
    expect(passedEnvironment({ CI: 'true', HOME: '/root', TSUBLK_A: '1', NO_COLOR: '1', PATH: '/bin' })).toEqual({
      CI: 'true',
      TSUBLK_A: '1',
      NO_COLOR: '1',
    });
  });
});

describe('panicReport', () => {
  it('finds a panic in the console log and keeps its context', () => {
    const log = [
      '[ 1.0] boot',
      '[ 3.5] sysrq: Trigger a crash',
      '[ 3.5] Kernel panic - not syncing: sysrq triggered crash',
      '[ 3.6] Call Trace:',
    ].join('\n');
    const report = panicReport(log);
    expect(report).toContain('Kernel panic - not syncing');
    expect(report).toContain('Call Trace:');
  });

  it('says nothing for a clean console', () => {
    expect(panicReport('[ 1.0] boot\n[ 2.0] reboot: Power down\n')).toBeNull();
  });
});

describe('isStaticElf', () => {
  it('tells a dynamically linked program (node itself) from a static one', () => {
    expect(isStaticElf(process.execPath)).toBe(false);
  });
});
