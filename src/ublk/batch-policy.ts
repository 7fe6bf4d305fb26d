/** How long each way is tried, and how long the better one is then kept (milliseconds). */
const PROBE_MS = 100;
const KEEP_MS = 1000;
/** A phase much longer than planned means the queue slept idle through it: its rate says nothing. */
const IDLE_FACTOR = 4;
/** Waiting must win by this much: on a tie, not waiting keeps latency lower. */
const WAIT_MARGIN = 1.03;

const Phase = { TryWaiting: 0, TryNotWaiting: 1, Keep: 2 } as const;
type Phase = (typeof Phase)[keyof typeof Phase];

/**
 * Whether a busy queue waits a moment for its batch to fill before serving it: measured, not
 * guessed. Waiting pays when the queue's thread would otherwise wake for almost every request
 * (one fio job at QD32: 1.8x the IOPS under TCG) and costs when the CPU it sleeps on is the one
 * the submitters need (two jobs on two CPUs: about -20 %). So every second the queue serves
 * 100 ms each way and keeps the one that served more requests per second for the rest of it.
 * One per queue thread; `update` is called once per loop round with the requests it served.
 */
export class BatchPolicy {
  /** Whether the queue loop should wait for more requests before serving them. */
  waiting = true;
  private phase: Phase = Phase.TryWaiting;
  private phaseStart: number;
  private served = 0;
  private waitingRate = 0;

  constructor(nowMs: number) {
    this.phaseStart = nowMs;
  }

  update(nowMs: number, served: number): void {
    this.served += served;
    const elapsed = nowMs - this.phaseStart;
    const planned = this.phase === Phase.Keep ? KEEP_MS : PROBE_MS;
    if (elapsed < planned) return;
    if (elapsed > planned * IDLE_FACTOR) {
      this.start(nowMs, Phase.TryWaiting); // it was idle: measure afresh
      return;
    }
    const rate = this.served / elapsed;
    if (this.phase === Phase.TryWaiting) {
      this.waitingRate = rate;
      this.start(nowMs, Phase.TryNotWaiting);
    } else if (this.phase === Phase.TryNotWaiting) {
      this.start(nowMs, Phase.Keep);
      this.waiting = this.waitingRate > rate * WAIT_MARGIN;
    } else {
      this.start(nowMs, Phase.TryWaiting);
    }
  }

  private start(nowMs: number, phase: Phase): void {
    this.phase = phase;
    this.phaseStart = nowMs;
    this.served = 0;
    if (phase === Phase.TryWaiting) this.waiting = true;
    else if (phase === Phase.TryNotWaiting) this.waiting = false;
  }
}
