// The CLI's output, written straight to fd 1 and 2. process.stdout and process.stderr load
// Node's stream modules on first use (~20 internal modules, tens of ms of a TCG guest's start);
// a command that prints a few lines does not need them.
import { writeSync } from 'node:fs';

function writeAll(fd: 1 | 2, text: string): void {
  const bytes = Buffer.from(text);
  let done = 0;
  while (done < bytes.length) {
    try {
      done += writeSync(fd, bytes, done);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // A reader that has gone (`tsublk list | head -1`): the rest has nowhere to go.
      if (code === 'EPIPE') return;
      // A non-blocking pipe that is full: the stream waits for it to drain, as Node would.
      if (code === 'EAGAIN') {
        (fd === 1 ? process.stdout : process.stderr).write(bytes.subarray(done));
        return;
      }
      throw error;
    }
  }
}

/** Prints `text` on standard output. */
export function printOut(text: string): void {
  writeAll(1, text);
}

/** Prints `text` on standard error. */
export function printErr(text: string): void {
  writeAll(2, text);
}

/** `name value name value …`: the counters' form in `list -v` and `stats` (scripts split it by field). */
export function namedValues(values: Readonly<Record<string, number>>): string {
  return Object.entries(values)
    .map(([name, value]) => `${name} ${value}`)
    .join(' ');
}
