import { defineConfig } from 'vitest/config';
import { runAlone } from './test/vm/run-alone.js';

const vmAlone = runAlone.map((name) => `test/vm/${name}.test.ts`);

// Two suites: `unit` runs on any Linux host; `vm` runs inside the disposable VM (npm run test:vm),
// where the kernel has ublk_drv. Running the vm suite elsewhere fails loudly, never skips.
export default defineConfig({
  test: {
    // Transformed test and source modules kept on disk: the 7.x VM run reuses what the 6.12 run
    // transformed (~1 s a file under TCG). In .cache, not node_modules: the VM writes node_modules
    // to a tmpfs overlay that is gone at its power-off (vm/guest/init.sh).
    experimental: { fsModuleCache: true, fsModuleCachePath: '.cache/vitest-modules' },
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      // Two files at a time: the guest's two CPUs are ~30 % idle under one, and QEMU runs each on
      // a host core of its own (20 CLI starts: 8.3-10.2 s one after another, 4.8-5.2 s two by two).
      // Each file serves device ids of its own (test/vm/cli.ts DeviceIds).
      {
        test: {
          name: 'vm',
          include: ['test/vm/**/*.test.ts'],
          exclude: vmAlone,
          testTimeout: 300_000,
          hookTimeout: 300_000,
          maxWorkers: 2,
          // A worker's modules loaded once for all the files it runs: a fork and vitest's start per
          // file cost 2-3 s each under TCG (5 files: 119 s isolated, 104 s not). The files share no
          // mutable state (no env, cwd, handlers or mocks of their own).
          isolate: false,
        },
      },
      {
        test: {
          name: 'vm-alone',
          include: vmAlone,
          testTimeout: 300_000,
          hookTimeout: 300_000,
          fileParallelism: false,
          isolate: false,
          sequence: { groupOrder: 1 }, // after the vm project's files
        },
      },
      // Tests that boot the VM themselves, from the host (systemd as PID 1, over two boots): too
      // long for npm test; npm run test:stress runs them after its soak loops.
      { test: { name: 'boots', include: ['test/boots/**/*.test.ts'], testTimeout: 1_800_000 } },
      // Soak loops, too long for npm test: npm run test:stress runs them in the VM.
      {
        test: { name: 'stress', include: ['test/stress/**/*.test.ts'], testTimeout: 3_600_000, fileParallelism: false },
      },
    ],
  },
});
