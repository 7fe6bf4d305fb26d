import { describe, it } from 'vitest';
import { inProcessCyclesLeakNothing } from '../vm/in-process-cycles.js';

// A soak loop for npm run test:stress (in the VM): the VM suite's lifecycle test, 10 times each
// stress cycle (a cycle here is about 2 s under TCG, against a crash cycle's tens).
const cycles = 10 * Number(process.env['TSUBLK_STRESS_CYCLES'] ?? 20);

describe('device lifecycle, long', () => {
  it(`${cycles} add/serve/delete cycles in one process leak no fd, thread, device or run file`, async () => {
    await inProcessCyclesLeakNothing(cycles);
  }, 3_600_000);
});
