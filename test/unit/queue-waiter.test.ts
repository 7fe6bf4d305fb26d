import { afterEach, describe, expect, it } from 'vitest';
import { QueueWaiter } from '../../src/ublk/queue-waiter.js';
import { QueueCounter, SLOT_FIELDS } from '../../src/ublk/stats.js';
import { Ring } from '../../src/uring/ring.js';

describe('QueueWaiter on the host kernel', () => {
  let ring: Ring | undefined;
  afterEach(() => ring?.close());

  it('submits what the round prepared, returns with its completion, and counts the enter', () => {
    ring = Ring.create(8, { coopTaskrun: true, singleIssuer: true });
    const counters = new Float64Array(SLOT_FIELDS);
    const waiter = new QueueWaiter(ring, counters);
    ring.prepNop(ring.getSqe(), 7);
    waiter.wait(-1, 0, 0);
    expect(ring.completionsReady()).toBe(1);
    expect(counters[QueueCounter.Enters]).toBe(1);
    expect(counters[QueueCounter.Spins]).toBe(0);
  });

  it('comes back after its timeout when nothing completes, even after a batch (no hang)', () => {
    ring = Ring.create(8, { coopTaskrun: true, singleIssuer: true });
    const counters = new Float64Array(SLOT_FIELDS);
    const waiter = new QueueWaiter(ring, counters);
    const start = process.hrtime.bigint();
    waiter.wait(2e6, 0, 0);
    waiter.wait(2e6, 16, 16); // a batch of 16 served: the first probe waits for 8, 20 µs at most
    expect(Number(process.hrtime.bigint() - start)).toBeGreaterThanOrEqual(2e6);
    expect(ring.completionsReady()).toBe(0);
    expect(counters[QueueCounter.Enters]).toBeGreaterThanOrEqual(2);
  });
});
