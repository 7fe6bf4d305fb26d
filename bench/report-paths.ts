// `npm run bench -- --report DIR --compare OLD.json` from the host: the benchmark runs in the VM,
// which writes only under the project (its one read-write share) and has a /tmp of its own. So the
// host stages both files in the project's .cache and copies the report to DIR afterwards.
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Results } from './report.js';

/** A bad --report or --compare, said in one line before the VM boots. */
export class ReportPathError extends Error {}

export interface StagedReport {
  /** The benchmark's arguments, with the staged paths in place of the user's. */
  readonly args: string[];
  /** After the run: the report copied to the user's DIR (when it was asked for), the stage removed. */
  finish(succeeded: boolean): void;
}

/**
 * --compare's file (`file`, as the user wrote it: `shownAs`): a results.json an earlier --report
 * wrote. Read before any run, by the host and by the benchmark in the guest alike.
 */
export function readComparison(file: string, shownAs = file): Results {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ReportPathError(
      `--compare ${shownAs}: cannot read it (${(error as NodeJS.ErrnoException).code ?? 'error'}): give the results.json an earlier --report wrote`,
    );
  }
  let results: Partial<Results> | undefined;
  try {
    results = JSON.parse(text) as Partial<Results>;
  } catch {
    results = undefined;
  }
  if (!Array.isArray(results?.rows))
    throw new ReportPathError(`--compare ${shownAs} is not a benchmark's results.json: give the one --report wrote`);
  return results as Results;
}

/** The value after `option` in `args`, or undefined when it is absent; throws when it has none. */
function optionValue(args: readonly string[], option: string): string | undefined {
  const at = args.indexOf(option);
  if (at < 0) return undefined;
  const value = args[at + 1];
  if (value === undefined || value.startsWith('--')) throw new ReportPathError(`${option} needs a path`);
  return value;
}

/**
 * Checks --compare's file (it must be a results.json an earlier --report wrote) and stages it and
 * --report's folder under `stageParent` (inside the project), resolving the user's paths against
 * `cwd`. Arguments without either option come back as they were.
 */
export function stageReportPaths(args: readonly string[], cwd: string, stageParent: string): StagedReport {
  const report = optionValue(args, '--report');
  const compare = optionValue(args, '--compare');
  if (report === undefined && compare === undefined) return { args: [...args], finish: () => undefined };
  if (compare !== undefined) readComparison(path.resolve(cwd, compare), compare);
  mkdirSync(stageParent, { recursive: true });
  const stage = mkdtempSync(path.join(stageParent, 'bench-report-'));
  const staged = [...args];
  if (compare !== undefined) {
    const copy = path.join(stage, 'compare.json');
    copyFileSync(path.resolve(cwd, compare), copy);
    staged[staged.indexOf('--compare') + 1] = copy;
  }
  const reportStage = path.join(stage, 'report');
  if (report !== undefined) staged[staged.indexOf('--report') + 1] = reportStage;
  return {
    args: staged,
    finish(succeeded: boolean): void {
      if (succeeded && report !== undefined && existsSync(reportStage)) {
        const destination = path.resolve(cwd, report);
        mkdirSync(destination, { recursive: true });
        cpSync(reportStage, destination, { recursive: true });
        process.stderr.write(`report: ${path.join(destination, 'report.html')}\n`);
      }
      rmSync(stage, { recursive: true, force: true });
    },
  };
}
