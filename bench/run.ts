// `npm run bench [-- --json --runs N]`: inside a guest, run bench/block directly; anywhere else,
// boot the VM with the kernel's anchors (null_blk, brd) and run it there.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { main } from './block.js';

if (process.env['TSUBLK_IN_VM'] === '1') {
  main();
} else {
  const vm = fileURLToPath(new URL('../vm/cli.js', import.meta.url));
  const block = fileURLToPath(new URL('./block.js', import.meta.url));
  const result = spawnSync(
    process.execPath,
    [vm, '--anchors', '--', process.execPath, block, ...process.argv.slice(2)],
    { stdio: 'inherit' },
  );
  process.exitCode = result.status ?? 1;
}
