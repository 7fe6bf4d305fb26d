import { schedSetaffinity } from '../../native-bindings/libc.js';
import { WaitMode } from './wait-policy.js';

/** Moves the calling thread to `cpus`; false when the kernel refused (a CPU went offline). */
function moveThread(cpus: readonly number[]): boolean {
  try {
    schedSetaffinity(0, cpus);
    return true;
  } catch {
    return false;
  }
}

/**
 * Placement auto (placement.ts): the queue's thread runs beside its submitters while its wait
 * policy spins, and on the submitters' CPUs while it does not. Told each round's wait mode, it
 * moves the thread only when the mode crosses between spinning and not: at most once per policy
 * phase (100 ms). Where the kernel refuses a move, the thread stays where it is from then on.
 */
export class PlacementByMode {
  private spinning: boolean | null = null;
  private stuck = false;

  constructor(
    /** Where the thread runs while it spins (placement beside). */
    private readonly spinningCpus: readonly number[],
    /** Where it runs otherwise (its submitters' CPUs). */
    private readonly atDepthCpus: readonly number[],
    private readonly move: (cpus: readonly number[]) => boolean = moveThread,
  ) {}

  /** This round's wait mode. */
  follow(mode: WaitMode): void {
    const spinning = mode === WaitMode.Spin;
    if (spinning === this.spinning || this.stuck) return;
    this.spinning = spinning;
    if (!this.move(spinning ? this.spinningCpus : this.atDepthCpus)) this.stuck = true;
  }
}
