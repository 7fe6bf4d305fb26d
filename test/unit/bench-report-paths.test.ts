// npm run bench's --report and --compare from the host: staged in the project (the VM's one
// read-write share), the report copied to the user's folder after the run.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readComparison, stageReportPaths } from '../../bench/report-paths.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));
function scratch(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'tsublk-bench-paths-'));
  dirs.push(dir);
  return dir;
}

describe('stageReportPaths', () => {
  it('puts both in a stage under the project and copies the report to the folder asked for, relative to where the user was', () => {
    const user = scratch();
    const project = scratch();
    writeFileSync(path.join(user, 'old.json'), JSON.stringify({ rows: [{ iops: 1 }] }));
    const staged = stageReportPaths(['--runs', '1', '--report', 'out', '--compare', 'old.json'], user, project);
    const report = staged.args[staged.args.indexOf('--report') + 1] ?? '';
    const compare = staged.args[staged.args.indexOf('--compare') + 1] ?? '';
    expect(staged.args.slice(0, 2)).toEqual(['--runs', '1']);
    expect(report.startsWith(project + path.sep)).toBe(true);
    expect(readFileSync(compare, 'utf8')).toBe(JSON.stringify({ rows: [{ iops: 1 }] }));
    // What the guest writes there.
    mkdirSync(report, { recursive: true });
    writeFileSync(path.join(report, 'report.html'), '<html></html>');
    writeFileSync(path.join(report, 'results.json'), '{}');
    staged.finish(true);
    expect(readdirSync(path.join(user, 'out')).sort()).toEqual(['report.html', 'results.json']);
    expect(readdirSync(project)).toEqual([]); // the stage is gone
  });

  it('copies nothing from a failed run, and still removes the stage', () => {
    const user = scratch();
    const project = scratch();
    const staged = stageReportPaths(['--report', path.join(user, 'out')], '/', project);
    const report = staged.args[1] ?? '';
    mkdirSync(report, { recursive: true });
    writeFileSync(path.join(report, 'report.html'), 'partial');
    staged.finish(false);
    expect(existsSync(path.join(user, 'out'))).toBe(false);
    expect(readdirSync(project)).toEqual([]);
  });

  it('reads a results.json for the benchmark in the guest as for the host, refusing anything else by the same words', () => {
    const dir = scratch();
    writeFileSync(path.join(dir, 'old.json'), JSON.stringify({ kernel: '6.12', rows: [] }));
    writeFileSync(path.join(dir, 'other.json'), '[1, 2]');
    expect(readComparison(path.join(dir, 'old.json'))).toEqual({ kernel: '6.12', rows: [] });
    expect(() => readComparison(path.join(dir, 'other.json'), 'other.json')).toThrow(
      "--compare other.json is not a benchmark's results.json: give the one --report wrote",
    );
  });

  it('leaves arguments without either option alone, staging nothing', () => {
    const project = scratch();
    expect(stageReportPaths(['--only', 'null'], '/', project).args).toEqual(['--only', 'null']);
    expect(readdirSync(project)).toEqual([]);
  });

  it.each<[string, string[], (user: string) => void, RegExp]>([
    [
      'a missing --compare file',
      ['--compare', 'nope.json'],
      () => undefined,
      /^--compare nope.json: cannot read it \(ENOENT\): give the results.json an earlier --report wrote$/,
    ],
    [
      'a --compare file that is not results',
      ['--compare', 'other.json'],
      (user) => writeFileSync(path.join(user, 'other.json'), '{"a": 1}'),
      /^--compare other.json is not a benchmark's results.json: give the one --report wrote$/,
    ],
    ['--report without a folder', ['--report'], () => undefined, /^--report needs a path$/],
    ['--compare followed by another option', ['--compare', '--json'], () => undefined, /^--compare needs a path$/],
  ])('refuses %s in one line, before anything runs', (_what, args, prepare, message) => {
    const user = scratch();
    const project = scratch();
    prepare(user);
    expect(() => stageReportPaths(args, user, project)).toThrow(message);
    expect(readdirSync(project)).toEqual([]);
  });
});
