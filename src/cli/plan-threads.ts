import { UBLK_F, UBLK_MAX_NR_QUEUES } from '../../native-bindings/ublk_cmd.js';
import type { TargetPlanner } from '../blk/target-plan.js';
import { UblkError } from '../ublk/errors.js';
import type { AddArguments } from './plan.js';
import { wholeNumberIn } from './whole-number.js';

/**
 * How many threads serve the device: --nthreads, one per queue by default. More (or fewer) than
 * the queues only with --per_io_tasks, and then a multiple of them: each thread serves a share
 * of one queue's tags, through a ring of its own, as one queue's thread does.
 */
export function planThreads(
  args: Pick<AddArguments, 'nthreads' | 'per_io_tasks'>,
  queues: number,
  depth: number,
  flags: number,
  planner: TargetPlanner,
): number {
  const threads = wholeNumberIn(
    args.nthreads ?? queues,
    1,
    UBLK_MAX_NR_QUEUES * 4,
    'thread count',
    `use --nthreads between 1 and ${UBLK_MAX_NR_QUEUES * 4}`,
  );
  if (args.per_io_tasks !== true) {
    if (threads !== queues)
      throw new UblkError(
        `--nthreads ${threads} with ${queues} queue${queues === 1 ? '' : 's'}: each queue has one thread unless --per_io_tasks spreads its tags; add --per_io_tasks, or use -q ${threads}`,
      );
    return threads;
  }
  if (threads % queues !== 0 || threads / queues > depth)
    throw new UblkError(
      `--nthreads ${threads} with ${queues} queue${queues === 1 ? '' : 's'} of depth ${depth}: tsublk gives each thread a share of one queue's tags, so use a multiple of ${queues} up to ${queues * depth}`,
    );
  if (planner.onePerQueue !== undefined)
    throw new UblkError(
      `--per_io_tasks: the ${planner.name} target serves each queue from one thread: ${planner.onePerQueue}`,
    );
  if ((flags & UBLK_F.BATCH_IO) !== 0)
    throw new UblkError(
      '--per_io_tasks and -b exclude each other: a batch FETCH hands any tag to any thread; pick one',
    );
  if ((flags & UBLK_F.ZONED) !== 0)
    throw new UblkError(
      "--per_io_tasks and a zoned device exclude each other: each thread would keep its own zones' write pointers",
    );
  return threads;
}
