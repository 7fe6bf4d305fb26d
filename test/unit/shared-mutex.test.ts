import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { SharedMutex } from '../../src/blk/shared-mutex.js';

const mutexModule = new URL('../../dist/src/blk/shared-mutex.js', import.meta.url).href;

describe('SharedMutex', () => {
  it('lets one thread at a time through: four workers lose no increment (needs npm run build)', async () => {
    const buffer = new SharedArrayBuffer(16);
    const words = new Int32Array(buffer);
    const rounds = 200_000;
    const done = Promise.all(
      Array.from(
        { length: 4 },
        () =>
          new Promise<void>((resolve, reject) => {
            const worker = new Worker(new URL('../support/mutex-worker.mjs', import.meta.url), {
              workerData: { buffer, rounds, mutexModule },
            });
            worker.once('message', () => resolve());
            worker.once('error', reject);
          }),
      ),
    );
    while (Atomics.load(words, 2) < 4) await new Promise((resolve) => setTimeout(resolve, 5));
    Atomics.store(words, 3, 1);
    Atomics.notify(words, 3);
    await done;
    expect(words[1]).toBe(4 * rounds);
    expect(words[0]).toBe(0); // free again
  });

  it('marks the word held while locked and free after unlock', () => {
    const buffer = new SharedArrayBuffer(4);
    const mutex = new SharedMutex(buffer, 0);
    mutex.lock();
    expect(new Int32Array(buffer)[0]).toBe(1);
    mutex.unlock();
    expect(new Int32Array(buffer)[0]).toBe(0);
  });
});
