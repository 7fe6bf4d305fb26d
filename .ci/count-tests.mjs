// Sums vitest JSON reports into the one closing line CI reads: "tests: N passed, N failed".
// A suite whose report is missing did not run (an earlier step failed): it counts as one failure.
import { existsSync, readFileSync } from 'node:fs';

let passed = 0;
let failed = 0;
let skipped = 0;
for (const file of process.argv.slice(2)) {
  if (!existsSync(file)) {
    console.log(`ci: ${file} is missing: that suite did not run`);
    failed += 1;
    continue;
  }
  const report = JSON.parse(readFileSync(file, 'utf8'));
  passed += report.numPassedTests;
  failed += report.numFailedTests;
  skipped += report.numPendingTests + (report.numTodoTests ?? 0);
  // A test file that failed to load has no tests to count but must still fail the run.
  failed += (report.testResults ?? []).filter(
    (result) => result.status === 'failed' && result.assertionResults.length === 0,
  ).length;
}
console.log(`tests: ${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`);
