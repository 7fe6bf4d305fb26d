/**
 * A mutex for the threads of one process (a device's queue workers and its daemon), in one
 * Int32 word of a SharedArrayBuffer: 0 free, 1 held, 2 held with waiters (the futex mutex of
 * Drepper's "Futexes Are Tricky"). Atomics.wait sleeps in the kernel, so a waiter never spins
 * for long. Only a device-wide state that several queues change takes it (a write cache, a
 * bandwidth budget, a bad-block list): one queue's own data needs no lock (one thread per queue).
 */
export class SharedMutex {
  private readonly word: Int32Array;

  /** `buffer` must be a SharedArrayBuffer shared by every user; `index` its Int32 slot. */
  constructor(
    buffer: SharedArrayBuffer,
    private readonly index: number,
  ) {
    this.word = new Int32Array(buffer);
  }

  lock(): void {
    const word = this.word;
    const at = this.index;
    let state = Atomics.compareExchange(word, at, 0, 1);
    if (state === 0) return;
    // A few tries first: a holder copies a block or two and lets go within microseconds.
    for (let spin = 0; spin < 64 && state !== 0; spin++) state = Atomics.compareExchange(word, at, 0, 1);
    if (state === 0) return;
    if (state !== 2) state = Atomics.exchange(word, at, 2);
    while (state !== 0) {
      Atomics.wait(word, at, 2);
      state = Atomics.exchange(word, at, 2);
    }
  }

  unlock(): void {
    if (Atomics.sub(this.word, this.index, 1) !== 1) {
      Atomics.store(this.word, this.index, 0);
      Atomics.notify(this.word, this.index, 1);
    }
  }
}
