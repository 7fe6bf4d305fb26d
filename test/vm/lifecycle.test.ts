import { describe, it } from 'vitest';
import { inProcessCyclesLeakNothing } from './in-process-cycles.js';

// Each cycle opens a char-device fd, 2 rings and 2 worker threads: a leak of any shows in 5
// cycles as 5 fds or threads over the start (npm run test:stress runs 200).
describe('device lifecycle', () => {
  it('5 add/serve/delete cycles in one process leak no fd, thread, device or run file', async () => {
    await inProcessCyclesLeakNothing(5);
  }, 600_000);
});
