import { readFileSync } from 'node:fs';
import { type CommandSpec, type OptionSpec, type ParsedArgs, type Program, UsageError, runProgram } from './args.js';
import { nullOptions } from '../targets/null-options.js';
import { markStart } from '../start-trace.js';
import { printOut } from './output.js';

markStart('cli: modules evaluated (parser, option tables)');

/**
 * What each command does beyond parsing, loaded once that command runs: `--help` and a bad option
 * read nothing else, and a command evaluates only its own modules (checking an add loads no FFI).
 * The build bundles each of these files on its own, beside this one.
 */
const modules = {
  plan: () => import('./plan.js'),
  serveForeground: () => import('./serve-foreground.js'),
  startDaemon: () => import('./start-daemon.js'),
  deleting: () => import('./delete.js'),
  listing: () => import('./list.js'),
  statistics: () => import('./stats.js'),
  change: () => import('./change.js'),
  features: () => import('./features.js'),
  udev: () => import('./udev.js'),
  logging: () => import('./log.js'),
};

async function command<K extends keyof typeof modules>(name: K): Promise<Awaited<ReturnType<(typeof modules)[K]>>> {
  const loaded = (await modules[name]()) as Awaited<ReturnType<(typeof modules)[K]>>;
  markStart(`cli: ${name} modules evaluated`);
  return loaded;
}

const json: OptionSpec = { name: 'json', type: 'boolean', default: false, describe: 'print JSON' };
const deviceId = (demand: string): OptionSpec => ({ name: 'number', alias: 'n', type: 'number', demand, describe: 'device id' });

/** The null target's null_blk-named options (absent unless given). */
const nullAddOptions: readonly OptionSpec[] = nullOptions.map((option) => ({
  name: option.name,
  type: option.kind,
  describe: `${option.describe} (default ${option.defaultValue === '' ? 'none' : option.defaultValue})`,
  group: 'null target (options named after null_blk attributes):',
}));

/** The given values of `options`, by name (what `set` hands the daemon). */
function givenValues(args: ParsedArgs, options: readonly { readonly name: string }[]): Record<string, number | string> {
  const values: Record<string, number | string> = {};
  for (const option of options) {
    const value = args[option.name];
    if (value !== undefined) values[option.name] = value as number | string;
  }
  return values;
}

const settable = nullOptions.filter((o) => o.settable);

const add: CommandSpec = {
  name: 'add',
  describe: 'create a device and serve it (a daemon, unless --foreground)',
  options: [
    { name: 'type', alias: 't', type: 'string', demand: 'name a target: -t null or -t memory', describe: 'target: null, memory, or a module file' },
    { name: 'number', alias: 'n', type: 'number', default: -1, describe: 'device id (default: the kernel picks)' },
    { name: 'queues', alias: 'q', type: 'number', default: 2, describe: 'hardware queues' },
    { name: 'depth', alias: 'd', type: 'number', default: 128, describe: 'queue depth' },
    { name: 'size', type: 'string', describe: 'device size (512, 4K, 1G, 250GiB…); null: 250GiB by default; memory: required unless --backing names a file' },
    { name: 'backing', type: 'string', describe: 'memory: the backing file (kept; default: /dev/shm/tsublk-<id>, removed with the device)' },
    { name: 'bs', type: 'number', default: 512, describe: 'logical block size: 512, 1024, 2048 or 4096 (null_blk: blocksize)' },
    { name: 'u', type: 'number', default: 0, describe: '1: UBLK_F_URING_CMD_COMP_IN_TASK' },
    { name: 'g', type: 'number', default: 0, describe: '1: UBLK_F_NEED_GET_DATA' },
    { name: 'r', type: 'number', default: 0, describe: '1: UBLK_F_USER_RECOVERY' },
    { name: 'e', type: 'number', default: 0, describe: '1: UBLK_F_USER_RECOVERY_FAIL_IO' },
    { name: 'i', type: 'number', default: 0, describe: '1: UBLK_F_USER_RECOVERY_REISSUE' },
    { name: 'z', type: 'boolean', default: false, describe: 'zero copy (not supported yet)' },
    { name: 'b', type: 'boolean', default: false, describe: 'batch I/O (not supported yet)' },
    { name: 'usercopy', type: 'boolean', default: false, describe: 'force the UBLK_F_USER_COPY data path (the default where the kernel has it)' },
    { name: 'copy', type: 'boolean', default: false, describe: 'force the per-tag buffer data path' },
    { name: 'unprivileged', type: 'boolean', default: false, describe: 'UBLK_F_UNPRIVILEGED_DEV: a device owned by the calling user (needs access to /dev/ublk-control and the udev rule: tsublk udev-rules)' },
    { name: 'max_io_buf_bytes', type: 'number', default: 524288, describe: 'largest request in bytes' },
    { name: 'pin', type: 'boolean', default: false, describe: "pin queue q's thread to CPU q" },
    { name: 'foreground', type: 'boolean', default: false, describe: 'serve in this process until SIGINT/SIGTERM' },
    { name: 'log-level', type: 'string', default: 'info', describe: "what the device's log keeps (tsublk log -n ID): error, warn, info or debug" },
    { ...json, describe: 'print the device as JSON' },
    ...nullAddOptions,
  ],
  async run(args) {
    const { planAdd } = await command('plan');
    const plan = planAdd(args as unknown as Parameters<typeof planAdd>[0]);
    process.exitCode =
      args['foreground'] === true ? await (await command('serveForeground')).addForeground(plan, args['json'] === true) : await (await command('startDaemon')).addDaemon(plan, args['json'] === true);
  },
};

const commands: readonly CommandSpec[] = [
  add,
  {
    name: 'del',
    describe: 'stop and delete devices',
    options: [
      { name: 'number', alias: 'n', type: 'number', describe: 'device id' },
      { name: 'all', alias: 'a', type: 'boolean', default: false, describe: 'every device' },
      { name: 'async', type: 'boolean', default: false, describe: 'return without waiting for the deletion to finish (DEL_DEV_ASYNC)' },
    ],
    check: (a) => {
      if (a['all'] !== true && a['number'] === undefined) throw new UsageError('name a device: del -n ID, or del -a for all');
    },
    run: async (args) => (await command('deleting')).del(Number(args['number'] ?? -1), args['all'] === true, args['async'] === true),
  },
  {
    name: 'list',
    describe: 'show devices',
    options: [
      { name: 'number', alias: 'n', type: 'number', default: -1, describe: 'only this device' },
      { name: 'verbose', alias: 'v', type: 'boolean', default: false, describe: 'more detail' },
      { ...json, describe: 'JSON output' },
    ],
    run: async (args) => (await command('listing')).list(Number(args['number']), args['json'] === true, args['verbose'] === true),
  },
  {
    name: 'stats',
    describe: "each queue's live counters (requests, in flight, errors, the target's own)",
    options: [
      deviceId('name the device: stats -n ID'),
      { ...json, describe: 'JSON output (one object per line with --watch)' },
      { name: 'watch', type: 'boolean', default: false, describe: 'print again every interval until SIGINT or the device goes' },
      { name: 'interval', type: 'number', default: 1, describe: 'seconds between prints with --watch' },
    ],
    run: async (args) => (await command('statistics')).stats(Number(args['number']), args['json'] === true, args['watch'] === true, Number(args['interval']) * 1000),
  },
  {
    name: 'log',
    describe: "a device's log: its daemon's events and every target failure, with stacks",
    options: [deviceId('name the device: log -n ID'), { name: 'follow', alias: 'f', type: 'boolean', default: false, describe: 'print what is added until SIGINT or the device goes' }],
    run: async (args) => (await command('logging')).showLog(Number(args['number']), args['follow'] === true),
  },
  {
    name: 'set',
    describe: "change a running device's settings (null: mbps, badblocks, badblocks_once, badblocks_partial_io)",
    options: [deviceId('name the device: set -n ID'), { ...json, describe: 'print the settings as JSON' }, ...settable.map((o) => ({ name: o.name, type: o.kind, describe: o.describe }))],
    run: async (args) => (await command('change')).changeDevice(Number(args['number']), givenValues(args, settable), args['json'] === true),
  },
  {
    name: 'power',
    describe: "cut or restore a device's power (null_blk's power): off fails all I/O and loses what a write cache never wrote back",
    positionals: [{ name: 'state', choices: ['off', 'on'], describe: 'off or on' }],
    options: [deviceId('name the device: power -n ID off|on'), { ...json, describe: 'print the settings as JSON' }],
    run: async (args) => (await command('change')).changeDevice(Number(args['number']), { power: args['state'] === 'on' ? 1 : 0 }, args['json'] === true),
  },
  {
    name: 'features',
    describe: "the running kernel's ublk features",
    options: [json],
    run: async (args) => (await command('features')).features(args['json'] === true),
  },
  {
    name: 'udev-rules',
    describe: 'print the udev rules that hand unprivileged devices to their owners',
    options: [],
    run: async () => void printOut((await command('udev')).udevRules()),
  },
  {
    name: 'udev',
    describe: false, // what the udev rule runs; --watch stands in for udev where none runs
    positionals: [{ name: 'name', optional: true, describe: 'a new node: ublkcN or ublkbN' }],
    options: [{ name: 'watch', type: 'boolean', default: false, describe: 'hand over every new node until SIGTERM' }],
    check: (a) => {
      if (a['watch'] !== true && a['name'] === undefined) throw new UsageError('name a node (udev ublkc0), or use udev --watch');
    },
    async run(args) {
      const { udevOnce, udevWatch } = await command('udev');
      if (args['watch'] === true) await udevWatch();
      else udevOnce(String(args['name']));
    },
  },
  {
    name: 'recover',
    describe: 'serve a device whose daemon died (added with -r 1 or -e 1) with a new daemon',
    options: [deviceId('name the device: recover -n ID'), { ...json, describe: 'print the device as JSON' }],
    run: async (args) => {
      process.exitCode = await (await command('startDaemon')).recoverLocked(Number(args['number']), args['json'] === true);
    },
  },
];

const program: Program = {
  name: 'tsublk',
  summary: 'Serves Linux block devices (/dev/ublkbN) from TypeScript through ublk_drv.',
  version: () => (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version,
  commands,
};

/** The tsublk command line, compatible with the C `ublk` utility's add/del/list/features. */
export async function main(argv: readonly string[]): Promise<void> {
  await runProgram(program, argv.slice(2));
  markStart('cli: command done');
}
