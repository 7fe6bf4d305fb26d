const units: Record<string, number> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40, P: 2 ** 50 };

/**
 * Parses a size as ublk and null_blk users write it: 512, 4K, 1G, 250GiB, 1.5T (binary units;
 * "B", "iB" suffixes accepted). Throws a one-line error naming the input.
 */
export function parseSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([KMGTP]?)(?:i?B)?$/i.exec(text.trim());
  const unit = match === null ? undefined : units[(match[2] ?? '').toUpperCase()];
  if (match === null || unit === undefined)
    throw new Error(`bad size '${text}': use a number of bytes with an optional unit, like 512, 4K, 1G or 250GiB`);
  const bytes = Number(match[1]) * unit;
  if (!Number.isSafeInteger(bytes)) throw new Error(`bad size '${text}': not a whole number of bytes`);
  return bytes;
}
