#!/usr/bin/env node
// `npm run vm -- [options] [--] <shell command>`: run a command as root in a disposable VM whose
// kernel has ublk_drv, in the current directory, and exit with the command's status.
import { existsSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { VmError } from './host-tools.js';
import { runInVm, vmExit } from './run.js';

const log = (line: string): void => void process.stderr.write(`vm: ${line}\n`);

async function main(): Promise<number> {
  const argv = await yargs(hideBin(process.argv))
    .scriptName('npm run vm --')
    .usage('$0 [options] [--] <shell command>\n\nRuns the command as root in a QEMU guest whose kernel has ublk_drv.')
    // Everything from the first word that is not an option on is the command, options included.
    .parserConfiguration({ 'halt-at-non-option': true, 'populate--': true })
    .option('kernel', {
      type: 'string',
      default: 'trixie',
      describe: 'trixie (6.12 LTS), sid (newest) or a path to a vmlinuz',
    })
    .option('cpus', { type: 'number', default: Math.min(2, os.availableParallelism()), describe: 'guest CPUs' })
    .option('mem', { type: 'string', default: '4G', describe: 'guest memory (QEMU syntax: 4G, 2048M)' })
    .option('timeout', { type: 'number', default: 1200, describe: 'seconds before a hung guest is killed' })
    .option('anchors', { type: 'boolean', default: false, describe: 'also load null_blk and brd for comparisons' })
    .option('init', {
      choices: ['bash', 'systemd'] as const,
      default: 'bash' as const,
      describe: "the guest's PID 1: bash runs the command at once; systemd boots to multi-user.target first",
    })
    .option('layer', {
      type: 'string',
      describe: "a folder laid over the guest's root (what one boot leaves there, the next one finds)",
    })
    .check((args) => {
      if (!Number.isInteger(args.cpus) || args.cpus < 1) throw new Error('--cpus must be a whole number ≥ 1');
      if (!/^\d+[MG]$/i.test(args.mem)) throw new Error('--mem must look like 4G or 2048M');
      if (args.layer !== undefined && !(existsSync(args.layer) && statSync(args.layer).isDirectory()))
        throw new Error(`--layer ${args.layer} is not a folder: give one to lay over the guest's root`);
      if (!(args.timeout > 0)) throw new Error('--timeout must be a positive number of seconds');
      return true;
    })
    .strict()
    .version(false)
    .showHelpOnFail(false, 'see npm run vm -- --help')
    .help()
    .parseAsync();

  const words = [...argv._.map(String), ...((argv['--'] as string[] | undefined) ?? [])];
  if (words.length === 0) {
    log('no command given: npm run vm -- [options] -- <shell command>');
    return 2;
  }
  return runInVm({
    kernel: argv.kernel,
    cpus: argv.cpus,
    mem: argv.mem,
    timeoutSeconds: argv.timeout,
    anchors: argv.anchors,
    init: argv.init,
    layer: argv.layer === undefined ? null : path.resolve(argv.layer),
    command: words.join(' '),
    // npm run starts scripts in the package root; INIT_CWD is where the user typed the command.
    cwd: process.env['INIT_CWD'] ?? process.cwd(),
    log,
  });
}

main().then(
  (status) => {
    process.exitCode = status;
  },
  (error: unknown) => {
    log(
      error instanceof VmError
        ? error.message
        : error instanceof Error
          ? (error.stack ?? error.message)
          : String(error),
    );
    process.exitCode = vmExit.failed;
  },
);
