// `npm run test:vm`'s step before the VM boots: vitest transforms the in-VM suite's test files and
// what they import on the host, where it is ~10x faster than under TCG, into the module cache the
// guest reads (vitest.config.ts, fsModuleCache). A clean clone's first guest run spends 16 s
// transforming and 16 s importing without it. `vitest list` imports each file to collect its tests:
// three files ask the kernel for its ublk features at import and fail on a host without ublk_drv,
// after their imports are cached. That failure is expected here, so its output is dropped; the
// suite itself runs (and fails loudly outside a guest) in the VM.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const vitest = fileURLToPath(new URL('../../node_modules/.bin/vitest', import.meta.url));

const result = spawnSync(vitest, ['list', '--project', 'vm', '--project', 'vm-alone'], {
  cwd: root,
  stdio: 'ignore',
  timeout: 120_000,
});
if (result.error !== undefined) process.stderr.write(`warm-vm-test-cache: vitest list: ${result.error.message}\n`);
