// A worker_thread that drives its own io_uring rings (used by test/unit/ring-threads.test.ts).
// It loads the built module (dist/), since a worker cannot load TypeScript sources.
import { parentPort, workerData } from 'node:worker_threads';

const { Ring } = await import(workerData.ringModule);
const { gettid } = await import(workerData.libcModule);
const rings = Array.from({ length: workerData.rings }, () => Ring.create(32));
let completions = 0;
let userDataSum = 0;
const onCompletion = (userData, result) => {
  if (result !== 0) throw new Error(`NOP failed: ${result}`);
  completions++;
  userDataSum += userData;
};
for (let sent = 0; sent < workerData.nops;) {
  for (const ring of rings) {
    let batch = 0;
    while (batch < 16 && sent < workerData.nops) {
      ring.prepNop(ring.getSqe(), sent++);
      batch++;
    }
    ring.submitAndWait(batch);
    ring.drainCompletions(onCompletion);
  }
}
for (const ring of rings) ring.close();
parentPort.postMessage({ tid: gettid(), completions, userDataSum });
