import { UblkError } from '../ublk/errors.js';

/** `value` when it is a whole number from `low` to `high`; else a one-line error naming `what` and the `fix`. */
export function wholeNumberIn(value: number, low: number, high: number, what: string, fix: string): number {
  if (!Number.isInteger(value) || value < low || value > high) throw new UblkError(`bad ${what} ${value}: ${fix}`);
  return value;
}
