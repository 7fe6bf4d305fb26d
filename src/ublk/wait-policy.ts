/** How long each way is tried, and how long the best one is then kept (milliseconds). */
const PROBE_MS = 100;
const KEEP_MS = 1000;
/** A phase much longer than planned means the queue slept idle through it: its rate says nothing. */
const IDLE_FACTOR = 4;
/** Waiting for batches must win by this much: on a tie, not waiting keeps latency lower. */
const BATCH_MARGIN = 1.03;
/** Spinning must win by this much: on a tie it only burns a CPU. */
const SPIN_MARGIN = 1.1;

/** How a queue waits for its next requests. */
export const WaitMode = {
  /** Sleep until the first request arrives. */
  Plain: 0,
  /** Sleep until several arrive (or 20 µs pass): one wake-up for many. */
  Batch: 1,
  /** Busy-poll the ring a moment before sleeping (SpinPolicy), after a round that served a few. */
  Spin: 2,
} as const;
export type WaitMode = (typeof WaitMode)[keyof typeof WaitMode];

/** The phases a cycle goes through: each way once, then the best kept. */
const PROBES: readonly WaitMode[] = [WaitMode.Batch, WaitMode.Plain, WaitMode.Spin];
const KEEP = PROBES.length;

/**
 * How a busy queue waits for requests: measured, not guessed.
 * - Batching pays when the queue's thread would otherwise wake for almost every request (one fio
 *   job at QD32: 1.8x the IOPS under TCG) and costs when the CPU it sleeps on is the one the
 *   submitters need (two jobs on two CPUs: about -20 %).
 * - Spinning pays when the submitter runs on another CPU and sends the next request within
 *   microseconds (one queue, QD1: 4x the IOPS and less than half the CPU per I/O, as the sleep
 *   and wake-up it saves cost more than the spin), and costs where it takes the submitters' CPU
 *   (two jobs on two CPUs: -15 %) or shares it (queue q pinned to CPU q: nothing gained).
 * So every 1.3 s the queue serves 100 ms each way and keeps the one that served the most
 * requests per second for the rest of it. One per queue thread; `update` is called once per loop
 * round with the requests it served.
 */
export class WaitPolicy {
  /** How the queue loop should wait in this round. */
  mode: WaitMode = WaitMode.Batch;
  private phase = 0;
  private phaseStart: number;
  private served = 0;
  /** Requests per millisecond each mode served in its last probe, by WaitMode. */
  private readonly rates = new Float64Array(PROBES.length);

  constructor(nowMs: number) {
    this.phaseStart = nowMs;
  }

  update(nowMs: number, served: number): void {
    this.served += served;
    const elapsed = nowMs - this.phaseStart;
    const planned = this.phase === KEEP ? KEEP_MS : PROBE_MS;
    if (elapsed < planned) return;
    if (elapsed > planned * IDLE_FACTOR) {
      this.start(nowMs, 0); // it was idle: measure afresh
      return;
    }
    if (this.phase === KEEP) {
      this.start(nowMs, 0);
      return;
    }
    this.rates[this.mode] = this.served / elapsed;
    this.start(nowMs, this.phase + 1);
  }

  private start(nowMs: number, phase: number): void {
    this.phase = phase;
    this.phaseStart = nowMs;
    this.served = 0;
    this.mode = phase === KEEP ? this.best() : (PROBES[phase] ?? WaitMode.Plain);
  }

  /** The way that served the most, where batching and spinning must win by their margins. */
  private best(): WaitMode {
    const plain = this.rates[WaitMode.Plain] ?? 0;
    const batch = this.rates[WaitMode.Batch] ?? 0;
    const spin = this.rates[WaitMode.Spin] ?? 0;
    let mode: WaitMode = WaitMode.Plain;
    let rate = plain;
    if (batch > plain * BATCH_MARGIN) {
      mode = WaitMode.Batch;
      rate = batch;
    }
    return spin > rate * SPIN_MARGIN ? WaitMode.Spin : mode;
  }
}
