// The in-VM files that run alone, after the others (vitest.config.ts's vm-alone project): they act
// on every device (list, del -a, other users' devices) or time what they measure (latency, rates).
// Every other file runs beside another and serves device ids of its own (cli.ts DeviceIds).
export const runAlone: readonly string[] = [
  'demo', // adds without -n: the kernel picks the id
  'device-lock',
  'lifecycle',
  'loop-target-refusals', // brd and its mount, which loop-target uses too
  'metrics', // rates
  'null-blk-attributes', // latency
  'null-target', // list and del -a
  'recovery', // del -a
  'unprivileged', // list and del -a as other users
];
