import { readFileSync } from 'node:fs';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';

const manifest = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

/** The tsublk command line. Device commands (add, del, list, recover) arrive with the driver. */
export async function main(argv: readonly string[]): Promise<void> {
  await yargs(hideBin([...argv]))
    .scriptName('tsublk')
    .usage('$0 <command> [options]\n\nServes Linux block devices (/dev/ublkbN) from TypeScript through ublk_drv.')
    .version(manifest.version)
    .demandCommand(1, 'tsublk: name a command (see tsublk --help)')
    .strict()
    .help()
    .parseAsync();
}
