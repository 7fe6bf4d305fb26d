import { PR, prctl, schedSetaffinity } from '../../native-bindings/libc.js';

/** Readies the calling thread to serve a queue, on `cpus` (empty: where it is). */
export function prepareQueueThread(cpus: readonly number[]): void {
  // Memory reclaim may write pages back through this very device: the flusher flag keeps our
  // own allocations from waiting on it (PR_SET_IO_FLUSHER, as every ublk server must).
  try {
    prctl(PR.SET_IO_FLUSHER, 1);
  } catch {
    // Needs CAP_SYS_RESOURCE; an unprivileged server runs without it.
  }
  // A target's timed completions (null's irqmode 2) wake this thread: 1 ns of timer slack
  // instead of the default 50 µs, as the kernel's null_blk hrtimer has none.
  prctl(PR.SET_TIMERSLACK, 1);
  if (cpus.length > 0) schedSetaffinity(0, cpus);
}
