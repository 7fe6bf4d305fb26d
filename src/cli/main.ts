import { readFileSync } from 'node:fs';
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { nullOptions } from '../targets/null-options.js';
import type * as Commands from './commands.js';

// Each command loads what it needs when it runs: the FFI (Koffi) only where the kernel is
// spoken to, so `set`, `power`, `stats` and `--help` start in a fraction of the time.
const commands = (): Promise<typeof Commands> => import('./commands.js');

const manifest = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

/** Registers the null target's null_blk-named options (numbers, absent unless given). */
function withNullOptions<T>(y: Argv<T>): Argv<T> {
  for (const option of nullOptions) y.option(option.name, { type: option.kind, describe: `${option.describe} (default ${option.defaultValue === '' ? 'none' : option.defaultValue})` });
  return y.group(nullOptions.map((option) => option.name), 'null target (options named after null_blk attributes):');
}

/** The tsublk command line, compatible with the C `ublk` utility's add/del/list/features. */
export async function main(argv: readonly string[]): Promise<void> {
  await yargs(hideBin([...argv]))
    .scriptName('tsublk')
    .usage('$0 <command> [options]\n\nServes Linux block devices (/dev/ublkbN) from TypeScript through ublk_drv.')
    .command(
      'add',
      'create a device and serve it (a daemon, unless --foreground)',
      (y) =>
        withNullOptions(
          y
            .option('type', { alias: 't', type: 'string', demandOption: 'name a target: -t null or -t memory', describe: 'target: null, memory, or a module file' })
            .option('number', { alias: 'n', type: 'number', default: -1, describe: 'device id (default: the kernel picks)' })
            .option('queues', { alias: 'q', type: 'number', default: 2, describe: 'hardware queues' })
            .option('depth', { alias: 'd', type: 'number', default: 128, describe: 'queue depth' })
            .option('size', { type: 'string', describe: 'device size (512, 4K, 1G, 250GiB…); null: 250GiB by default; memory: required unless --backing names a file' })
            .option('backing', { type: 'string', describe: "memory: the backing file (kept; default: /dev/shm/tsublk-<id>, removed with the device)" })
            .option('bs', { type: 'number', default: 512, describe: 'logical block size: 512, 1024, 2048 or 4096 (null_blk: blocksize)' })
            .option('u', { type: 'number', default: 0, describe: '1: UBLK_F_URING_CMD_COMP_IN_TASK' })
            .option('g', { type: 'number', default: 0, describe: '1: UBLK_F_NEED_GET_DATA' })
            .option('r', { type: 'number', default: 0, describe: '1: UBLK_F_USER_RECOVERY' })
            .option('e', { type: 'number', default: 0, describe: '1: UBLK_F_USER_RECOVERY_FAIL_IO' })
            .option('i', { type: 'number', default: 0, describe: '1: UBLK_F_USER_RECOVERY_REISSUE' })
            .option('z', { type: 'boolean', default: false, describe: 'zero copy (not supported yet)' })
            .option('b', { type: 'boolean', default: false, describe: 'batch I/O (not supported yet)' })
            .option('usercopy', { type: 'boolean', default: false, describe: 'force the UBLK_F_USER_COPY data path (the default where the kernel has it)' })
            .option('copy', { type: 'boolean', default: false, describe: 'force the per-tag buffer data path' })
            .option('unprivileged', { type: 'boolean', default: false, describe: 'UBLK_F_UNPRIVILEGED_DEV: a device owned by the calling user (needs access to /dev/ublk-control and the udev rule: tsublk udev-rules)' })
            .option('max_io_buf_bytes', { type: 'number', default: 524288, describe: 'largest request in bytes' })
            .option('pin', { type: 'boolean', default: false, describe: "pin queue q's thread to CPU q" })
            .option('foreground', { type: 'boolean', default: false, describe: 'serve in this process until SIGINT/SIGTERM' })
            .option('json', { type: 'boolean', default: false, describe: 'print the device as JSON' }),
        ),
      async (args) => {
        const { planAdd } = await import('./plan.js');
        const { addDaemon, addForeground } = await commands();
        const plan = planAdd(args);
        process.exitCode = args.foreground ? await addForeground(plan, args.json) : await addDaemon(plan, args.json);
      },
    )
    .command(
      'del',
      'stop and delete devices',
      (y) =>
        y
          .option('number', { alias: 'n', type: 'number', describe: 'device id' })
          .option('all', { alias: 'a', type: 'boolean', default: false, describe: 'every device' })
          .option('async', { type: 'boolean', default: false, describe: 'return without waiting for the deletion to finish (DEL_DEV_ASYNC)' })
          .check((a) => {
            if (!a.all && a.number === undefined) throw new Error('name a device: del -n ID, or del -a for all');
            return true;
          }),
      async (args) => {
        await (await commands()).del(args.number ?? -1, args.all, args.async);
      },
    )
    .command(
      'list',
      'show devices',
      (y) =>
        y
          .option('number', { alias: 'n', type: 'number', default: -1, describe: 'only this device' })
          .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'more detail' })
          .option('json', { type: 'boolean', default: false, describe: 'JSON output' }),
      async (args) => (await commands()).list(args.number, args.json, args.verbose),
    )
    .command(
      'stats',
      "each queue's live counters (requests, in flight, errors, the target's own)",
      (y) =>
        y
          .option('number', { alias: 'n', type: 'number', demandOption: 'name the device: stats -n ID', describe: 'device id' })
          .option('json', { type: 'boolean', default: false, describe: 'JSON output (one object per line with --watch)' })
          .option('watch', { type: 'boolean', default: false, describe: 'print again every interval until SIGINT or the device goes' })
          .option('interval', { type: 'number', default: 1, describe: 'seconds between prints with --watch' }),
      async (args) => (await import('./stats.js')).stats(args.number, args.json, args.watch, args.interval * 1000),
    )
    .command(
      'set',
      "change a running device's settings (null: mbps, badblocks, badblocks_once, badblocks_partial_io)",
      (y) => {
        let withSettings = y
          .option('number', { alias: 'n', type: 'number', demandOption: 'name the device: set -n ID', describe: 'device id' })
          .option('json', { type: 'boolean', default: false, describe: 'print the settings as JSON' });
        for (const option of nullOptions.filter((o) => o.settable)) withSettings = withSettings.option(option.name, { type: option.kind, describe: option.describe });
        return withSettings;
      },
      async (args) => {
        const values: Record<string, number | string> = {};
        for (const option of nullOptions.filter((o) => o.settable)) {
          const value = (args as Record<string, unknown>)[option.name];
          if (value !== undefined) values[option.name] = value as number | string;
        }
        await (await import('./change.js')).changeDevice(args.number, values, args.json);
      },
    )
    .command(
      'power <state>',
      "cut or restore a device's power (null_blk's power): off fails all I/O and loses what a write cache never wrote back",
      (y) =>
        y
          .positional('state', { choices: ['off', 'on'] as const, demandOption: true, describe: 'off or on' })
          .option('number', { alias: 'n', type: 'number', demandOption: 'name the device: power -n ID off|on', describe: 'device id' })
          .option('json', { type: 'boolean', default: false, describe: 'print the settings as JSON' }),
      async (args) => {
        await (await import('./change.js')).changeDevice(args.number, { power: args.state === 'on' ? 1 : 0 }, args.json);
      },
    )
    .command('features', "the running kernel's ublk features", (y) => y.option('json', { type: 'boolean', default: false }), async (args) => (await commands()).features(args.json))
    .command('udev-rules', 'print the udev rules that hand unprivileged devices to their owners', {}, async () => {
      process.stdout.write((await import('./udev.js')).udevRules());
    })
    .command(
      'udev [name]',
      false, // what the udev rule runs; --watch stands in for udev where none runs
      (y) =>
        y
          .positional('name', { type: 'string', describe: 'a new node: ublkcN or ublkbN' })
          .option('watch', { type: 'boolean', default: false, describe: 'hand over every new node until SIGTERM' })
          .check((a) => {
            if (!a.watch && a.name === undefined) throw new Error('name a node (udev ublkc0), or use udev --watch');
            return true;
          }),
      async (args) => {
        const { udevOnce, udevWatch } = await import('./udev.js');
        if (args.watch) await udevWatch();
        else udevOnce(args.name ?? '');
      },
    )
    .command(
      'recover',
      'serve a device whose daemon died (added with -r 1 or -e 1) with a new daemon',
      (y) => y.option('number', { alias: 'n', type: 'number', demandOption: 'name the device: recover -n ID', describe: 'device id' }).option('json', { type: 'boolean', default: false, describe: 'print the device as JSON' }),
      async (args) => {
        process.exitCode = await (await commands()).recoverLocked(args.number, args.json);
      },
    )
    .version(manifest.version)
    .demandCommand(1, 'name a command (see tsublk --help)')
    .strict()
    .showHelpOnFail(false, 'see tsublk --help')
    .fail((message, error) => {
      throw error ?? new Error(message);
    })
    .help()
    .parseAsync();
}
