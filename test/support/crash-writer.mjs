// A writer that knows exactly what was acknowledged: synchronous O_DIRECT 4 KiB writes of a
// pattern unique to (block, generation) at random blocks, logging each one once pwrite has
// returned it complete, and each failed one (EIO while the daemon is dead) as failed: a failed
// write may or may not have reached the store, as on any block device.
// Usage: node crash-writer.mjs DEVICE FIRST_BLOCK BLOCKS LOG (writers need disjoint ranges). Stops on SIGTERM.
import { appendFileSync, writeFileSync } from 'node:fs';
import { setImmediate } from 'node:timers';
import { O, close, open, pwriteRaw } from '../../dist/native-bindings/libc.js';
import { HostMemory } from '../../dist/native-bindings/host-memory.js';

const [device, firstText, blocksText, log] = process.argv.slice(2);
const first = Number(firstText);
const blocks = Number(blocksText);
const fd = open(device, O.RDWR | O.DIRECT);
const buffer = new HostMemory(4096, 'writer buffer'); // page aligned, as O_DIRECT wants
const words = new Uint32Array(buffer.bytes.buffer, buffer.bytes.byteOffset, 1024);
writeFileSync(log, '');
let running = true;
let failures = 0;
process.on('SIGTERM', () => (running = false));

function fillPattern(target, block, generation) {
  for (let i = 0; i < 1024; i++) target[i] = (block * 7919 + generation * 104729 + i * 2654435761) >>> 0;
}

let generation = 0;
while (running) {
  const block = first + Math.floor(Math.random() * blocks);
  generation++;
  fillPattern(words, block, generation);
  const written = pwriteRaw(fd, buffer.address, 4096, block * 4096);
  if (written === 4096) appendFileSync(log, `${block} ${generation}\n`);
  else {
    failures++;
    appendFileSync(log, `${block} ${generation} failed\n`);
  }
  if (generation % 64 === 0) await new Promise((resolve) => setImmediate(resolve)); // let SIGTERM in
}
close(fd);
process.stdout.write(JSON.stringify({ generations: generation, failures }) + '\n');
