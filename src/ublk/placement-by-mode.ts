import { schedSetaffinity } from '../../native-bindings/libc.js';
import { WaitMode } from './wait-policy.js';

/** Moves the calling thread to `cpus`; throws when the kernel refuses (a CPU went offline). */
function moveThread(cpus: readonly number[]): void {
  schedSetaffinity(0, cpus);
}

/**
 * Placement auto (placement.ts): the queue's thread runs beside its submitters while its wait
 * policy spins, and on the submitters' CPUs while it does not. Told each round's wait mode, it
 * moves the thread only when the mode crosses between spinning and not: at most once per policy
 * phase (100 ms). Where the kernel refuses a move, the thread stays where it is from then on,
 * and `refused` says so (the device's log).
 */
export class PlacementByMode {
  private spinning: boolean | null = null;
  private stuck = false;

  constructor(
    /** Where the thread runs while it spins (placement beside). */
    private readonly spinningCpus: readonly number[],
    /** Where it runs otherwise (its submitters' CPUs). */
    private readonly atDepthCpus: readonly number[],
    /** One line for the device's log, once: the move that was refused and why. */
    private readonly refused: (line: string) => void,
    private readonly move: (cpus: readonly number[]) => void = moveThread,
  ) {}

  /** This round's wait mode. */
  follow(mode: WaitMode): void {
    const spinning = mode === WaitMode.Spin;
    if (spinning === this.spinning || this.stuck) return;
    this.spinning = spinning;
    const cpus = spinning ? this.spinningCpus : this.atDepthCpus;
    try {
      this.move(cpus);
    } catch (error) {
      this.stuck = true;
      const why = error instanceof Error ? error.message : String(error);
      this.refused(
        `placement auto: moving the thread to CPU ${cpus.join(',')} was refused (${why}); it stays where it is`,
      );
    }
  }
}
