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
 */
export type QueuePlacement = 'beside' | 'submitters' | 'pin';
export const QUEUE_PLACEMENTS: readonly QueuePlacement[] = ['beside', 'submitters', 'pin'];

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
  const submitting = new Set(submitters);
  const beside: number[] = [];
  for (let cpu = 0; cpu < cpuCount; cpu++) if (!submitting.has(cpu)) beside.push(cpu);
  // Every CPU submits to this queue (one queue): any CPU will do.
  return beside.length > 0 ? beside : [];
}
