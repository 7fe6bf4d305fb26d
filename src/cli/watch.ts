/**
 * Runs `tick` every `intervalMs` until SIGINT or SIGTERM, or until it returns false: the loop of
 * `stats --watch` and `log -f`.
 */
export async function everyInterval(intervalMs: number, tick: () => boolean): Promise<void> {
  let stopped = false;
  const stop = (): void => {
    stopped = true;
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  while (!stopped) {
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
    if (stopped || !tick()) return;
  }
}
