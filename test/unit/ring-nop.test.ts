import { afterEach, describe, expect, it } from 'vitest';
import { Ring } from '../../src/uring/ring.js';

describe('Ring on the host kernel', () => {
  const rings: Ring[] = [];
  const open = (entries: number, options?: Parameters<typeof Ring.create>[1]): Ring => {
    const ring = Ring.create(entries, options);
    rings.push(ring);
    return ring;
  };
  afterEach(() => {
    for (const ring of rings.splice(0)) ring.close();
  });

  it('round-trips NOPs with their user_data, including values above 2^32', () => {
    const ring = open(8);
    const sent = [0, 1, 0xffff_ffff, 0x1_0000_0000, 2 ** 53 - 1];
    for (const userData of sent) ring.prepNop(ring.getSqe(), userData);
    expect(ring.submitAndWait(sent.length)).toBe(sent.length);
    const seen: Array<[number, number]> = [];
    expect(ring.drainCompletions((userData, result) => seen.push([userData, result]))).toBe(sent.length);
    expect(seen).toEqual(sent.map((userData) => [userData, 0]));
    expect(ring.completionsReady()).toBe(0);
  });

  it('hands out no SQE when the submission queue is full, and frees them on submit', () => {
    const ring = open(4);
    for (let i = 0; i < ring.sqEntries; i++) ring.prepNop(ring.getSqe(), i);
    expect(ring.getSqe()).toBe(-1);
    ring.submitAndWait(ring.sqEntries);
    expect(ring.drainCompletions(() => undefined)).toBe(ring.sqEntries);
    expect(ring.getSqe()).toBeGreaterThanOrEqual(0);
  });

  it('works with 128-byte SQEs and 32-byte CQEs', () => {
    const ring = open(4, { sqe128: true, cqe32: true });
    expect(ring.sqeSize).toBe(128);
    ring.prepNop(ring.getSqe(), 7);
    ring.prepNop(ring.getSqe(), 8);
    ring.submitAndWait(2);
    const seen: number[] = [];
    ring.drainCompletions((userData) => seen.push(userData));
    expect(seen).toEqual([7, 8]);
  });

  it('fails setup with a zero size, naming the call and the errno', () => {
    expect(() => Ring.create(0)).toThrow(/io_uring_setup\(entries=0\): EINVAL/);
  });
});
