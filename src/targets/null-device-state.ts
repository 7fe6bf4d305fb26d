import { SharedMutex } from '../blk/shared-mutex.js';
import { BadBlockTable, MAX_BAD_RANGES } from './null-badblocks.js';

// The Int32 slots, then the Float64 ones (from byte FLOAT_BASE).
const I = { Mutex: 0, Powered: 1, BadCount: 2, BadOnce: 3, BadPartial: 4, Generation: 5, Inject: 6 } as const;
const FLOAT_BASE = 64;
const F = { Mbps: 0, NextFreeNs: 1, Ranges: 2 } as const;

/** CLOCK_MONOTONIC in ns, as a double: the one clock every thread of the daemon shares. */
function monotonicOffsetNs(): number {
  const [seconds, nanoseconds] = process.hrtime(); // once per thread: the hot path uses performance.now()
  return seconds * 1e9 + nanoseconds - performance.now() * 1e6;
}

/**
 * What every queue of a null device sees alike and `tsublk set` / `tsublk power` change while it
 * runs, as null_blk's configfs attributes are device-wide: power, the bandwidth budget (mbps),
 * the bad ranges and their flags, the fault injection odds. One SharedArrayBuffer, made by the
 * daemon (target open) and handed to each queue's worker in its QueueSetup; each thread wraps it
 * in its own instance.
 */
export class NullDeviceState {
  readonly mutex: SharedMutex;
  readonly badblocks: BadBlockTable;
  private readonly ints: Int32Array;
  private readonly floats: Float64Array;
  /** This thread's performance.now() (ns) to CLOCK_MONOTONIC (ns). */
  private readonly clockOffsetNs = monotonicOffsetNs();

  static create(): SharedArrayBuffer {
    const buffer = new SharedArrayBuffer(FLOAT_BASE + 8 * (F.Ranges + 2 * MAX_BAD_RANGES));
    new Int32Array(buffer)[I.Powered] = 1;
    return buffer;
  }

  constructor(readonly buffer: SharedArrayBuffer) {
    this.ints = new Int32Array(buffer, 0, FLOAT_BASE / 4);
    this.floats = new Float64Array(buffer, FLOAT_BASE);
    this.mutex = new SharedMutex(buffer, I.Mutex);
    this.badblocks = new BadBlockTable(this.mutex, this.ints, I.BadCount, this.floats.subarray(F.Ranges), () =>
      this.changed(),
    );
  }

  /** Something shown in the configuration changed by itself (a bad range healed): wakes watch(). */
  changed(): void {
    Atomics.add(this.ints, I.Generation, 1);
    Atomics.notify(this.ints, I.Generation);
  }

  /**
   * The daemon's side: calls `listener` after each changed(), from the event loop (Atomics.waitAsync:
   * no thread blocks, nothing polls), until the returned function stops it.
   */
  watch(listener: () => void): () => void {
    let stopped = false;
    const loop = (seen: number): void => {
      const wait = Atomics.waitAsync(this.ints, I.Generation, seen);
      const next = (): void => {
        if (stopped) return;
        const now = Atomics.load(this.ints, I.Generation);
        if (now !== seen) listener();
        loop(now);
      };
      if (wait.async) void wait.value.then(next);
      else next();
    };
    loop(Atomics.load(this.ints, I.Generation));
    return () => {
      stopped = true;
      Atomics.add(this.ints, I.Generation, 1);
      Atomics.notify(this.ints, I.Generation); // ends the pending wait, so nothing keeps the loop alive
    };
  }

  /** null_blk's power: while off, every request fails (EIO), as a disk without power would. */
  get powered(): boolean {
    return Atomics.load(this.ints, I.Powered) === 1;
  }

  set powered(on: boolean) {
    Atomics.store(this.ints, I.Powered, on ? 1 : 0);
  }

  get badblocksOnce(): boolean {
    return Atomics.load(this.ints, I.BadOnce) === 1;
  }

  set badblocksOnce(on: boolean) {
    Atomics.store(this.ints, I.BadOnce, on ? 1 : 0);
  }

  get badblocksPartialIo(): boolean {
    return Atomics.load(this.ints, I.BadPartial) === 1;
  }

  set badblocksPartialIo(on: boolean) {
    Atomics.store(this.ints, I.BadPartial, on ? 1 : 0);
  }

  /**
   * Fault injection, in one word so a request costs one load: the percent of requests that time
   * out (bits 0-7) and that are requeued (bits 8-15); 0 when neither is injected.
   */
  get inject(): number {
    return Atomics.load(this.ints, I.Inject);
  }

  get timeoutPercent(): number {
    return this.inject & 0xff;
  }

  set timeoutPercent(percent: number) {
    Atomics.store(this.ints, I.Inject, (this.inject & ~0xff) | percent);
  }

  get requeuePercent(): number {
    return (this.inject >> 8) & 0xff;
  }

  set requeuePercent(percent: number) {
    Atomics.store(this.ints, I.Inject, (this.inject & 0xff) | (percent << 8));
  }

  /** The bandwidth cap in MiB/s (null_blk's mbps; 0: none). */
  get mbps(): number {
    return this.floats[F.Mbps] ?? 0;
  }

  set mbps(value: number) {
    this.mutex.lock();
    this.floats[F.Mbps] = value;
    this.mutex.unlock();
  }

  /**
   * The bandwidth budget: books `bytes` on the device's one timeline and returns when (this
   * thread's nowNs() time) they have passed at mbps MiB/s; -1 when there is no cap. A device idle
   * for a while saves up nothing: the timeline restarts from now.
   */
  bookBandwidth(bytes: number, nowNs: number): number {
    if ((this.floats[F.Mbps] ?? 0) === 0) return -1;
    const now = nowNs + this.clockOffsetNs;
    this.mutex.lock();
    const mbps = this.floats[F.Mbps] ?? 0;
    const start = Math.max(now, this.floats[F.NextFreeNs] ?? 0);
    const done = mbps === 0 ? now : start + (bytes * 1e9) / (mbps * 2 ** 20);
    this.floats[F.NextFreeNs] = done;
    this.mutex.unlock();
    return done - this.clockOffsetNs;
  }
}
