// What `add` accepts: its own options (the C ublk utility's, and tsublk's), and every target's,
// registered so that the chosen target's show in its help and another's are refused by name.
import type { TargetOption, TargetPlanner } from '../blk/target-plan.js';
import { builtinPlanners } from '../targets/registry.js';
import type { OptionSpec } from './args.js';

/** add's own options, before any target's; `targets`: the built-in targets' names. */
export function addOptions(targets: readonly string[]): OptionSpec[] {
  return [
    {
      name: 'type',
      alias: 't',
      type: 'string',
      demand: `name a target: ${targets.map((name) => `-t ${name}`).join(', ')} or -t ./module.js`,
      describe: `target: ${targets.join(', ')}, or a module file (add -t NAME --help: its options)`,
    },
    { name: 'number', alias: 'n', type: 'number', default: -1, describe: 'device id (default: the kernel picks)' },
    {
      name: 'queues',
      alias: 'q',
      type: 'number',
      describe: "hardware queues (default 2, or the target's: nbd 1, a connection per queue)",
    },
    { name: 'depth', alias: 'd', type: 'number', default: 128, describe: 'queue depth' },
    {
      name: 'size',
      type: 'string',
      describe:
        "device size (512, 4K, 1G, 250GiB…; binary units: 1G is 1 GiB); left out: the target's default (null: 250GiB; memory and loop: the backing file's size)",
    },
    {
      name: 'bs',
      type: 'number',
      describe: 'logical block size: 512, 1024, 2048 or 4096 (null_blk: blocksize; default 512)',
    },
    // The C ublk utility's long names are aliases of its one-letter options.
    {
      name: 'u',
      longAliases: ['uring_comp'],
      type: 'number',
      default: 0,
      describe: '1: UBLK_F_URING_CMD_COMP_IN_TASK',
    },
    { name: 'g', longAliases: ['need_get_data'], type: 'number', default: 0, describe: '1: UBLK_F_NEED_GET_DATA' },
    { name: 'r', longAliases: ['user_recovery'], type: 'number', default: 0, describe: '1: UBLK_F_USER_RECOVERY' },
    {
      name: 'e',
      longAliases: ['user_recovery_fail_io'],
      type: 'number',
      default: 0,
      describe: '1: UBLK_F_USER_RECOVERY_FAIL_IO',
    },
    {
      name: 'i',
      longAliases: ['user_recovery_reissue'],
      type: 'number',
      default: 0,
      describe: '1: UBLK_F_USER_RECOVERY_REISSUE',
    },
    {
      name: 'auto_zc',
      alias: 'z',
      longAliases: ['zerocopy'],
      type: 'boolean',
      default: false,
      describe:
        'zero copy: UBLK_F_AUTO_BUF_REG (Linux 6.16): file and socket I/O move request data without a copy through user memory (targets that do all their I/O through QueueIo: loop, nbd; their default where offered)',
    },
    {
      name: 'batch-io',
      alias: 'b',
      type: 'boolean',
      default: false,
      describe:
        'batch I/O: UBLK_F_BATCH_IO (Linux 7.0): requests arrive and results return many to one ublk command instead of one command per request',
    },
    {
      name: 'nthreads',
      type: 'number',
      describe: 'threads serving the device (default: one per queue); more than the queues needs --per_io_tasks',
    },
    {
      name: 'per_io_tasks',
      type: 'boolean',
      default: false,
      describe:
        "UBLK_F_PER_IO_DAEMON (Linux 6.16): spread each queue's tags over --nthreads threads (a multiple of the queue count), each owning the tags it fetched",
    },
    {
      name: 'usercopy',
      type: 'boolean',
      default: false,
      describe: 'force the UBLK_F_USER_COPY data path (the default where the kernel has it)',
    },
    { name: 'copy', type: 'boolean', default: false, describe: 'force the per-tag buffer data path' },
    {
      name: 'unprivileged',
      type: 'boolean',
      default: false,
      describe:
        'UBLK_F_UNPRIVILEGED_DEV: a device owned by the calling user (needs access to /dev/ublk-control and the udev rule: tsublk udev-rules)',
    },
    {
      name: 'no_auto_part_scan',
      type: 'boolean',
      default: false,
      describe: 'UBLK_F_NO_AUTO_PART_SCAN (Linux 7.0): read no partition table when the device starts',
    },
    { name: 'max_io_buf_bytes', type: 'number', default: 524288, describe: 'largest request in bytes' },
    {
      name: 'placement',
      type: 'string',
      describe:
        "where queue threads run: beside (on the CPUs that do not submit to the queue; the default), submitters (the kernel's CPUs for the queue, as the C server), pin (as --pin), auto (beside while a queue busy-polls, on its submitters' CPUs otherwise; nbd's default)",
    },
    { name: 'pin', type: 'boolean', default: false, describe: "pin queue q's thread to CPU q (--placement pin)" },
    { name: 'foreground', type: 'boolean', default: false, describe: 'serve in this process until SIGINT/SIGTERM' },
    {
      name: 'config',
      type: 'string',
      describe:
        'read options from a JSON object by name ({"type": "memory", "size": "1G"}); options after it win (what tsublk@.service uses)',
    },
    {
      name: 'log-level',
      type: 'string',
      default: 'info',
      describe: "what the device's log keeps (tsublk log -n ID): error, warn, info or debug",
    },
    {
      name: 'debug_mask',
      type: 'number',
      describe: "the C utility's debug bits: any set is --log-level debug (tsublk has no finer mask)",
    },
  ];
}

/** A target's options as `add` registers them, under the target's heading. */
function targetOptionSpecs(planner: TargetPlanner, shown: boolean): OptionSpec[] {
  return planner.options.map((option: TargetOption) => ({
    name: option.name,
    ...(option.alias === undefined ? {} : { alias: option.alias }),
    type: option.kind,
    // Another target's options stay known (to say whose they are) but out of this one's help.
    ...(shown
      ? {
          describe:
            option.defaultValue === undefined
              ? option.describe
              : `${option.describe} (default ${option.defaultValue === '' ? 'none' : String(option.defaultValue)})`,
        }
      : {}),
    group: planner.heading,
  }));
}

/** Every target's options, once each by name: the chosen target's shown, the others only known. */
export function addTargetOptions(chosen: TargetPlanner | null, module: TargetPlanner | null): OptionSpec[] {
  const specs = new Map<string, OptionSpec>();
  const planners = [...(chosen === null ? [] : [chosen]), ...builtinPlanners(), ...(module === null ? [] : [module])];
  for (const planner of planners) {
    for (const spec of targetOptionSpecs(planner, chosen === null || planner === chosen))
      if (!specs.has(spec.name)) specs.set(spec.name, spec);
  }
  return [...specs.values()];
}

/** The value of add's -t/--type among the words, before parsing (its options join add's). */
export function typeWord(words: readonly string[]): string | undefined {
  for (let i = 0; i < words.length; i++) {
    const word = words[i] ?? '';
    if (word === '-t' || word === '--type') return words[i + 1];
    if (word.startsWith('--type=') || word.startsWith('-t=')) return word.slice(word.indexOf('=') + 1);
  }
  return undefined;
}
