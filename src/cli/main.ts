import { readFileSync } from 'node:fs';
import { type CommandSpec, type Program, UsageError, programHelp, runProgram } from './args.js';
import { markStart } from '../start-trace.js';
import { printErr } from './output.js';
import { expandAddConfig } from './add-config.js';
import { EXIT } from './exit-codes.js';
import { addCommand, commands, namedTarget } from './commands.js';

markStart('cli: modules evaluated (parser, option tables)');
const program = (add: CommandSpec): Program => ({
  name: 'tsublk',
  summary: 'Serves Linux block devices (/dev/ublkbN) from TypeScript through ublk_drv.',
  version: () =>
    (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string })
      .version,
  commands: commands(add),
});

/** `tsublk --help`: the build writes it beside the bundles, for bin/tsublk to print without loading them. */
export function programHelpText(): string {
  return programHelp(program(addCommand(null)));
}

/** The tsublk command line, compatible with the C `ublk` utility's add/del/list/features. */
export async function main(argv: readonly string[]): Promise<void> {
  try {
    const words = expandAddConfig(argv.slice(2));
    await runProgram(program(addCommand(await namedTarget(words))), words);
  } catch (error) {
    // add --foreground (a supervisor's command): a bad option or config has an exit status of its own.
    if (!(error instanceof UsageError && argv[2] === 'add' && argv.includes('--foreground'))) throw error;
    printErr(`tsublk: ${error.message}\n`);
    process.exitCode = EXIT.BAD_CONFIG;
  }
  markStart('cli: command done');
}
