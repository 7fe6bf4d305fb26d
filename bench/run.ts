// `npm run bench [-- --json --runs N --kernel sid]`: inside a guest, run bench/block directly;
// anywhere else, boot the VM (--kernel K: that kernel) with the kernel's anchors (null_blk, brd)
// and run it there.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { projectRoot } from '../vm/paths.js';
import { main } from './block.js';
import { ReportPathError, type StagedReport, stageReportPaths } from './report-paths.js';
import { checkArguments } from './arguments.js';

const refused = checkArguments(process.argv.slice(2));
if (refused !== null) {
  (refused.status === 0 ? process.stdout : process.stderr).write(refused.text);
  process.exitCode = refused.status;
} else if (process.env['TSUBLK_IN_VM'] === '1') {
  main();
} else {
  const vm = fileURLToPath(new URL('../vm/cli.js', import.meta.url));
  const block = fileURLToPath(new URL('./block.js', import.meta.url));
  // --kernel picks the guest's kernel, so it goes to the VM, not to the benchmark.
  const args = process.argv.slice(2);
  const kernelAt = args.indexOf('--kernel');
  const kernel = kernelAt < 0 ? [] : args.splice(kernelAt, 2);
  let staged: StagedReport;
  try {
    staged = stageReportPaths(args, process.env['INIT_CWD'] ?? process.cwd(), path.join(projectRoot(), '.cache'));
  } catch (error) {
    if (!(error instanceof ReportPathError)) throw error;
    process.stderr.write(`bench: ${error.message}\n`);
    process.exit(2);
  }
  // The guest's stderr is a pipe to this one: where this is a terminal, the guest draws progress for it.
  const progress = process.stderr.isTTY ? { TSUBLK_PROGRESS: String(process.stderr.columns) } : {};
  const result = spawnSync(
    process.execPath,
    [vm, ...kernel, '--anchors', '--', process.execPath, block, ...staged.args],
    // The report's path in the guest is the stage's: this process names where it went.
    { stdio: 'inherit', env: { ...process.env, ...progress, TSUBLK_BENCH_STAGED: '1' } },
  );
  staged.finish(result.status === 0);
  process.exitCode = result.status ?? 1;
}
