/** An error tsublk reports as one line, with what to do about it. */
export class UblkError extends Error {
  override name = 'UblkError';
}
