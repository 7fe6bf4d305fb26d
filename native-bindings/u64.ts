// 64-bit kernel fields as two u32 halves, the one way tsublk writes them: plain numbers (every
// value tsublk puts there is below 2^53), no BigInt, so the same helpers serve the hot path.

export const TWO_32 = 0x1_0000_0000;

/** The upper 32 bits of a non-negative integer below 2^53 (the common small case skips a division). */
export function high32(value: number): number {
  return value < TWO_32 ? 0 : (value / TWO_32) >>> 0;
}

/** Writes a little-endian u64 at `offset`. */
export function setU64(view: DataView, offset: number, value: number): void {
  view.setUint32(offset, value >>> 0, true);
  view.setUint32(offset + 4, high32(value), true);
}

/** Reads a little-endian u64 at `offset` (exact below 2^53). */
export function getU64(view: DataView, offset: number): number {
  return view.getUint32(offset, true) + view.getUint32(offset + 4, true) * TWO_32;
}
