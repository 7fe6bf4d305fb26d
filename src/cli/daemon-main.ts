import { parseDaemonArgs } from './daemon-args.js';

// The daemon's own entry point, started by `add` and `recover` (not for people). It skips the
// CLI's parser: loading yargs is most of a start in the test VM (3.7 of 5.5 s under TCG).
async function runDaemon(): Promise<void> {
  const { plan, recover } = parseDaemonArgs(process.argv.slice(2));
  const { serveDaemon } = await import('./commands.js');
  process.exitCode = await serveDaemon(plan, recover);
}

runDaemon().catch((error: unknown) => {
  process.stderr.write(`tsublk: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
