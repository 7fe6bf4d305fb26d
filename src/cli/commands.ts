// The commands of the tsublk command line: each one's options, and what it runs (its own bundle,
// loaded once it runs). main.ts makes the program of them.
import { type CommandSpec, type OptionSpec, UsageError, givenValues } from './args.js';
import type { TargetPlanner } from '../blk/target-plan.js';
import { builtinPlanner, builtinPlanners, isTargetModule } from '../targets/registry.js';
import { markStart } from '../start-trace.js';
import { printErr, printOut } from './output.js';
import { EXIT } from './exit-codes.js';
import { discardPrestartedDaemon } from './daemon-prestart.js';
import { addOptions, addTargetOptions, typeWord } from './add-options.js';

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
  restarting: () => import('./restart.js'),
  metrics: () => import('./metrics.js'),
  systemd: () => import('./systemd-unit.js'),
  completion: () => import('./completion.js'),
};

async function command<K extends keyof typeof modules>(name: K): Promise<Awaited<ReturnType<(typeof modules)[K]>>> {
  const loaded = (await modules[name]()) as Awaited<ReturnType<(typeof modules)[K]>>;
  markStart(`cli: ${name} modules evaluated`);
  return loaded;
}

/** add's queue count when -q is left out and the target names none. */
const DEFAULT_QUEUES = 2;
const json: OptionSpec = { name: 'json', type: 'boolean', default: false, describe: 'print JSON' };
const deviceId = (demand: string): OptionSpec => ({
  name: 'number',
  alias: 'n',
  type: 'number',
  demand,
  describe: 'device id',
});

/** The target `add -t X` names: a built-in's planner, or a module's (loaded here); null when none is named. */
export async function namedTarget(
  words: readonly string[],
): Promise<{ planner: TargetPlanner; module: boolean } | null> {
  if (words[0] !== 'add') return null;
  const name = typeWord(words);
  if (name === undefined) return null;
  const builtin = builtinPlanner(name);
  if (builtin !== undefined) return { planner: builtin, module: false };
  if (!isTargetModule(name)) return null; // unknown: planAdd says so, naming the known ones
  // The plan bundle keeps import() (this one turns it into require, which cannot load ESM).
  return { planner: await (await command('plan')).loadModulePlanner(name), module: true };
}

const builtinNames = builtinPlanners().map((planner) => planner.name);
const settable = builtinPlanners().flatMap((planner) => planner.options.filter((o) => o.settable === true));

/** `add`, with the options of the target it names (all of them when it names none). */
export const addCommand = (named: { planner: TargetPlanner; module: boolean } | null): CommandSpec => ({
  name: 'add',
  describe: 'create a device and serve it (a daemon, unless --foreground)',
  options: [
    ...addOptions(builtinNames),
    { ...json, describe: 'print the device as JSON' },
    ...addTargetOptions(named?.planner ?? null, named?.module === true ? named.planner : null),
  ],
  async run(args) {
    const { planAdd } = await command('plan');
    const given = {
      ...args,
      bs: args['bs'] ?? 512,
      bsGiven: args['bs'] !== undefined,
      queues: args['queues'] ?? DEFAULT_QUEUES,
      queuesGiven: args['queues'] !== undefined,
    } as unknown as Parameters<typeof planAdd>[0];
    if (args['foreground'] !== true) {
      const plan = planAdd(given, named?.module === true ? named.planner : undefined);
      process.exitCode = await (await command('startDaemon')).addDaemon(plan, args['json'] === true);
      return;
    }
    await discardPrestartedDaemon(); // --foreground from a --config file: this process serves
    // In the foreground (under a supervisor), a bad option has an exit status of its own.
    let plan: ReturnType<typeof planAdd>;
    try {
      plan = planAdd(given, named?.module === true ? named.planner : undefined);
    } catch (error) {
      printErr(`tsublk: ${(error as Error).message}\n`);
      process.exitCode = EXIT.BAD_CONFIG;
      return;
    }
    process.exitCode = await (await command('serveForeground')).addForeground(plan, args['json'] === true);
  },
});

export const commands = (add: CommandSpec): readonly CommandSpec[] => [
  add,
  {
    name: 'del',
    describe: 'stop and delete devices',
    options: [
      { name: 'number', alias: 'n', type: 'number', describe: 'device id' },
      { name: 'all', alias: 'a', type: 'boolean', default: false, describe: 'every device' },
      {
        name: 'async',
        type: 'boolean',
        default: false,
        describe: 'return without waiting for the deletion to finish (DEL_DEV_ASYNC)',
      },
      {
        name: 'safe',
        type: 'boolean',
        default: false,
        describe: 'refuse while the disk is open: mounted or in use (TRY_STOP_DEV, Linux 7.0)',
      },
    ],
    check: (a) => {
      if (a['all'] !== true && a['number'] === undefined)
        throw new UsageError('name a device: del -n ID, or del -a for all');
    },
    run: async (args) =>
      (await command('deleting')).del(
        Number(args['number'] ?? -1),
        args['all'] === true,
        args['async'] === true,
        args['safe'] === true,
      ),
  },
  {
    name: 'list',
    describe: 'show devices',
    options: [
      { name: 'number', alias: 'n', type: 'number', default: -1, describe: 'only this device' },
      { name: 'verbose', alias: 'v', type: 'boolean', default: false, describe: 'more detail' },
      { ...json, describe: 'JSON output' },
    ],
    run: async (args) =>
      (await command('listing')).list(Number(args['number']), args['json'] === true, args['verbose'] === true),
  },
  {
    name: 'stats',
    describe: "each queue's live counters (requests, in flight, errors, the target's own)",
    options: [
      deviceId('name the device: stats -n ID'),
      { ...json, describe: 'JSON output (one object per line with --watch)' },
      {
        name: 'watch',
        type: 'boolean',
        default: false,
        describe: 'print again every interval until SIGINT or the device goes',
      },
      { name: 'interval', type: 'number', default: 1, describe: 'seconds between prints with --watch' },
      {
        name: 'prometheus',
        type: 'boolean',
        default: false,
        describe: 'the Prometheus text format (what tsublk metrics serves)',
      },
    ],
    run: async (args) =>
      (await command('statistics')).stats(
        Number(args['number']),
        args['prometheus'] === true ? 'prometheus' : args['json'] === true ? 'json' : 'text',
        args['watch'] === true,
        Number(args['interval']) * 1000,
      ),
  },
  {
    name: 'metrics',
    describe: "serve every device's counters over HTTP at /metrics, for Prometheus (until SIGINT/SIGTERM)",
    options: [
      {
        name: 'listen',
        type: 'string',
        default: ':9483',
        describe: '[HOST]:PORT to listen on (no HOST: every interface)',
      },
    ],
    run: async (args) => (await command('metrics')).serveMetrics(String(args['listen'])),
  },
  {
    name: 'log',
    describe: "a device's log: its daemon's events and every target failure, with stacks",
    options: [
      deviceId('name the device: log -n ID'),
      {
        name: 'follow',
        alias: 'f',
        type: 'boolean',
        default: false,
        describe: 'print what is added until SIGINT or the device goes',
      },
    ],
    run: async (args) => (await command('logging')).showLog(Number(args['number']), args['follow'] === true),
  },
  {
    name: 'set',
    describe: "change a running device's settings (null: mbps, badblocks, badblocks_once, badblocks_partial_io)",
    options: [
      deviceId('name the device: set -n ID'),
      { ...json, describe: 'print the settings as JSON' },
      ...settable.map((o): OptionSpec => ({ name: o.name, type: o.kind, describe: o.describe })),
    ],
    run: async (args) =>
      (await command('change')).changeDevice(
        Number(args['number']),
        givenValues(args, settable),
        args['json'] === true,
      ),
  },
  {
    name: 'power',
    describe:
      "cut or restore a device's power (null_blk's power): off fails all I/O and loses what a write cache never wrote back",
    positionals: [{ name: 'state', choices: ['off', 'on'], describe: 'off or on' }],
    options: [deviceId('name the device: power -n ID off|on'), { ...json, describe: 'print the settings as JSON' }],
    run: async (args) =>
      (await command('change')).changeDevice(
        Number(args['number']),
        { power: args['state'] === 'on' ? 1 : 0 },
        args['json'] === true,
      ),
  },
  {
    name: 'resize',
    describe:
      "change a live device's size (UBLK_F_UPDATE_SIZE, Linux 6.16): null, memory and loop; data below the new end is kept",
    options: [
      deviceId('name the device: resize -n ID --size SIZE'),
      { name: 'size', type: 'string', describe: 'the new size: 512, 4K, 1G, 250GiB…' },
      {
        name: 'truncate',
        type: 'boolean',
        default: false,
        describe: 'loop: when shrinking, cut the file to the new end (what lies past it is lost)',
      },
      { ...json, describe: 'print the configuration as JSON' },
    ],
    check: (a) => {
      if (a['size'] === undefined) throw new UsageError('give the new size: resize -n ID --size SIZE');
    },
    run: async (args) =>
      (await command('change')).resizeDevice(
        Number(args['number']),
        String(args['size']),
        args['truncate'] === true,
        args['json'] === true,
      ),
  },
  {
    name: 'features',
    describe: "the running kernel's ublk features",
    options: [json],
    run: async (args) => (await command('features')).features(args['json'] === true),
  },
  {
    name: 'completion',
    describe: 'print a shell completion script: source <(tsublk completion bash)',
    positionals: [{ name: 'shell', describe: 'the shell', choices: ['bash', 'zsh'] }],
    options: [],
    run: async (args) =>
      void printOut(
        (await command('completion')).completionScript(String(args['shell']), commands(addCommand(null)), builtinNames),
      ),
  },
  {
    name: 'systemd-unit',
    describe: 'print the systemd template unit tsublk@.service: one device per /etc/tsublk/NAME.json',
    options: [],
    run: async () => void printOut((await command('systemd')).systemdUnit()),
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
      if (a['watch'] !== true && a['name'] === undefined)
        throw new UsageError('name a node (udev ublkc0), or use udev --watch');
    },
    async run(args) {
      const { udevOnce, udevWatch } = await command('udev');
      if (args['watch'] === true) await udevWatch();
      else udevOnce(String(args['name']));
    },
  },
  {
    name: 'restart',
    describe:
      "replace a LIVE device's daemon with a new one (after an upgrade) without failing I/O: needs -r 1 at add and Linux 6.16 (QUIESCE)",
    options: [deviceId('name the device: restart -n ID'), { ...json, describe: 'print the device as JSON' }],
    run: async (args) => {
      process.exitCode = await (await command('restarting')).restart(Number(args['number']), args['json'] === true);
    },
  },
  {
    name: 'quiesce',
    describe: "stop a LIVE device's daemon with I/O held (QUIESCED) until tsublk recover: needs -r 1 and Linux 6.16",
    options: [deviceId('name the device: quiesce -n ID')],
    run: async (args) => (await command('restarting')).quiesce(Number(args['number'])),
  },
  {
    name: 'recover',
    describe: 'serve a device whose daemon died (added with -r 1 or -e 1) with a new daemon',
    options: [deviceId('name the device: recover -n ID'), { ...json, describe: 'print the device as JSON' }],
    run: async (args) => {
      process.exitCode = await (
        await command('startDaemon')
      ).recoverLocked(Number(args['number']), args['json'] === true);
    },
  },
];
