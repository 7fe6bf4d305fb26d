// A worker_thread that increments a shared counter under SharedMutex (test/unit/shared-mutex.test.ts).
// It loads the built module (dist/), since a worker cannot load TypeScript sources.
import { parentPort, workerData } from 'node:worker_threads';

const { SharedMutex } = await import(workerData.mutexModule);
const mutex = new SharedMutex(workerData.buffer, 0);
// [0] the mutex, [1] the counter, [2] workers ready, [3] go.
const words = new Int32Array(workerData.buffer);
Atomics.add(words, 2, 1);
Atomics.wait(words, 3, 0); // all start together, so they contend
for (let i = 0; i < workerData.rounds; i++) {
  mutex.lock();
  // A read-modify-write in two steps: without the lock, increments get lost.
  const seen = words[1];
  words[1] = seen + 1;
  mutex.unlock();
}
parentPort.postMessage('done');
