/**
 * Where each queue's thread runs (add --placement):
 * - `beside` (the default): on the CPUs that do not submit to its queue, where there are any, so
 *   the server works while its submitter does, as a disk works beside the CPU. One fio job on a
 *   2-CPU TCG guest: QD1 2,800 -> 9,000 IOPS, QD32 13,000 -> 60,000 (with WaitMode.Spin); two
 *   jobs on two CPUs about -10 % (each CPU hosts a submitter and a server either way, and every
 *   wake-up crosses CPUs).
 * - `submitters`: on the CPUs the kernel maps to the queue (GET_QUEUE_AFFINITY), as the C and
 *   Rust ublk servers place them.
 * - `pin`: queue q on CPU q alone (`--pin`).
 * - `auto` (the nbd target's default): beside while the queue spins (WaitMode.Spin: at low depth,
 *   where the submitter, the queue and a server take turns), on the submitters' CPUs otherwise (at
 *   depth, where a server of the target's on this machine needs the other CPUs). nbd with 2
 *   queues against a local nbdkit, one TCG boot, auto and beside alternating twice (IOPS): 4k
 *   random reads at QD32 with 2 jobs 10,460 and 8,966 against 8,219 and 7,623; with 1 job 7,576
 *   and 8,543 against 7,010 and 7,103; at QD1 1,314 and 1,456 against 1,262 and 1,300.
 *   submitters alone, another boot: 10,692 at QD32 with 2 jobs but 967 at QD1. The null target
 *   has no server to make room for: auto cost it 3-16 % at QD32 with 2 jobs, so it stays beside.
 */
export type QueuePlacement = 'beside' | 'submitters' | 'pin' | 'auto';
export const QUEUE_PLACEMENTS: readonly QueuePlacement[] = ['beside', 'submitters', 'pin', 'auto'];

/**
 * The CPUs queue `queueId`'s thread may run on. `submitters`: the kernel's CPUs for the queue;
 * `cpuCount`: the CPUs there are (0..cpuCount-1). Empty: leave the thread where it is.
 */
export function queueCpus(
  placement: QueuePlacement,
  queueId: number,
  submitters: readonly number[],
  cpuCount: number,
): number[] {
  if (placement === 'pin') return [queueId % cpuCount];
  if (placement === 'submitters') return [...submitters];
  // auto: beside at first; queueCpusAtDepth says where it goes when it stops spinning.
  const submitting = new Set(submitters);
  const beside: number[] = [];
  for (let cpu = 0; cpu < cpuCount; cpu++) if (!submitting.has(cpu)) beside.push(cpu);
  // Every CPU submits to this queue (one queue): any CPU will do.
  return beside.length > 0 ? beside : [];
}

/**
 * With `auto`: the CPUs the queue's thread moves to while it does not spin (its submitters'),
 * away from `cpus` (queueCpus); null where it stays on `cpus` (other placements, or when all
 * CPUs submit to the queue and there is nowhere beside).
 */
export function queueCpusAtDepth(
  placement: QueuePlacement,
  submitters: readonly number[],
  cpus: readonly number[],
): number[] | null {
  return placement === 'auto' && submitters.length > 0 && cpus.length > 0 ? [...submitters] : null;
}
