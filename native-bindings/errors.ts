import os from 'node:os';

const errnoNames = new Map<number, string>(Object.entries(os.constants.errno).map(([name, value]) => [value, name]));

/** `EPERM` for 1, and so on; `E<n>` for a number Node does not name. */
export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `E${errno}`;
}

/**
 * A failed system call: the errno's name, the call, and what it acted on, so that a message
 * reads "io_uring_setup(entries=64): ENOMEM (Cannot allocate memory)".
 */
export class SyscallError extends Error {
  override name = 'SyscallError';
  readonly code: string;

  constructor(
    readonly call: string,
    readonly errno: number,
    readonly target: string,
    hint?: string,
  ) {
    super(`${call}(${target}): ${errnoName(errno)}${hint === undefined ? '' : ` (${hint})`}`);
    this.code = errnoName(errno);
  }
}
