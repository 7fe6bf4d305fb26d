/**
 * What kind of problem a UserError reports: stable names that scripts and exit codes can rely on
 * (the message may be reworded; the code is not). A command the kernel refused carries its errno
 * name instead (EBUSY, ENODEV…).
 */
export type UserErrorCode = 'bad-input' | 'in-use' | 'not-found' | 'not-supported' | 'target-failed' | `E${string}`;

/**
 * An error tsublk reports as one line that names the problem and the fix. Any layer throws it
 * (a target's open, the control device, the CLI's checks); the CLI prints its message as it is,
 * and nobody rewraps it.
 */
export class UserError extends Error {
  override name = 'UserError';

  constructor(
    message: string,
    readonly code: UserErrorCode = 'bad-input',
  ) {
    super(message);
  }
}
