// One way for a test to wait for something it cannot be told of (a device's state, a daemon's
// exit, a line of output): ask again every few ms, up to a deadline that suits a slow TCG host,
// rather than a fixed sleep, which is either too short there or wasted on a fast one.

/** Asks `done` at once and then every `everyMs` until it says true or `withinMs` have passed; whether it did. */
export async function pollUntil(done: () => boolean, withinMs: number, everyMs = 50): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    if (done()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
