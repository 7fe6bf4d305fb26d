// Soak loops for npm run test:stress (in the VM): kill -9 and recover, del and SIGTERM under load.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { O, close, open, preadRaw } from '../../dist/native-bindings/libc.js';
import { HostMemory } from '../../dist/native-bindings/host-memory.js';
import { cleanUp, leftovers, listedDevice, ok, run, tsublk } from '../vm/cli.js';
import { pollUntil } from '../support/poll.js';

const cycles = Number(process.env['TSUBLK_STRESS_CYCLES'] ?? 20);
const writerScript = fileURLToPath(new URL('../support/crash-writer.mjs', import.meta.url));

afterEach(() => {
  cleanUp();
  expect(leftovers()).toEqual({ devices: [], daemons: [], runFiles: [] });
});

interface Listed {
  state: string;
  daemon_pid: number;
}

const listed = (devId: number): Listed | undefined => listedDevice<Listed>(devId);

async function waitFor(what: string, withinMs: number, check: () => boolean): Promise<void> {
  if (!(await pollUntil(check, withinMs, 100))) throw new Error(`${what}: not within ${withinMs} ms`);
}

function exited(child: ChildProcess): Promise<{ status: number | null; output: string }> {
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) => child.once('exit', (status) => resolve({ status, output })));
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Wall time of each crash as a user's script sees it: kill -9 until `list` says LIVE again. */
const scriptMs: number[] = [];

/** The crash script's times since crash number `from`. */
function scriptTimes(from: number): string {
  const times = scriptMs.slice(from).sort((a, b) => a - b);
  return `crash script (kill -9, list until QUIESCED, recover, list until LIVE) ms max ${times.at(-1)} median ${times[times.length >> 1]}`;
}

/**
 * The README's crash script: kill the device's daemon, poll `tsublk list` until QUIESCED,
 * `tsublk recover`, poll `list` until LIVE; records its wall time and returns the new daemon's
 * own recovery time. Timed from the kill, as a crash is: the list run that finds the pid comes before.
 */
async function crashAndRecover(devId: number): Promise<number> {
  const pid = listed(devId)?.daemon_pid ?? 0;
  const started = Date.now();
  process.kill(pid, 'SIGKILL');
  await waitFor('QUIESCED', 5000, () => listed(devId)?.state === 'QUIESCED');
  const recovered = tsublk('recover', '-n', String(devId));
  expect(recovered.status, recovered.stderr).toBe(0);
  await waitFor('LIVE', 5000, () => listed(devId)?.state === 'LIVE');
  scriptMs.push(Date.now() - started);
  return (JSON.parse(readFileSync(`/run/tsublk/${devId}.json`, 'utf8')) as { recoveredInMs: number }).recoveredInMs;
}

/**
 * Every block the writer logged as acknowledged holds its last acknowledged generation, or a
 * later generation whose write failed (a failed write may have reached the store before the
 * daemon died; only an acknowledged one must).
 */
function verifyAcknowledged(device: string, log: string): { blocks: number; mismatches: number } {
  const allowed = new Map<number, number[]>();
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    const [blockText, generationText, failed] = line.split(' ');
    const block = Number(blockText);
    const generation = Number(generationText);
    if (line === '' || Number.isNaN(generation)) continue;
    if (failed === undefined) allowed.set(block, [generation]);
    else if (allowed.has(block)) allowed.get(block)?.push(generation);
  }
  const fd = open(device, O.RDONLY | O.DIRECT);
  const buffer = new HostMemory(4096, 'verify buffer');
  const words = new Uint32Array(buffer.bytes.buffer, buffer.bytes.byteOffset, 1024);
  let mismatches = 0;
  try {
    for (const [block, generations] of allowed) {
      expect(preadRaw(fd, buffer.address, 4096, block * 4096)).toBe(4096);
      const matches = (generation: number): boolean => {
        for (let i = 0; i < 1024; i++)
          if (words[i] !== (block * 7919 + generation * 104729 + i * 2654435761) >>> 0) return false;
        return true;
      };
      if (!generations.some(matches)) mismatches++;
    }
  } finally {
    close(fd);
    buffer.free();
  }
  return { blocks: allowed.size, mismatches };
}

describe(`kill -9 and recover, ${cycles} cycles each`, () => {
  it('-r 1 -q 2, memory: every acknowledged write survives every crash; each recovery < 2 s', async () => {
    expect(tsublk('add', '-t', 'memory', '--size', '64M', '-n', '0', '-q', '2', '-r', '1').status).toBe(0);
    const times: number[] = [];
    const firstCrash = scriptMs.length;
    let failures = 0;
    let verified = 0;
    for (let cycle = 0; cycle < cycles; cycle++) {
      const log = `/tmp/tsublk-writer-${cycle}.log`;
      const writers = [0, 1].map(
        (w) =>
          spawn(process.execPath, [
            writerScript,
            '/dev/ublkb0',
            String(w * 8192),
            String(8192),
            `${log}.${w}`,
          ]) /* disjoint halves */,
      );
      const done = writers.map(exited);
      await sleep(1500);
      times.push(await crashAndRecover(0));
      await sleep(500); // writes go on through the new daemon
      for (const writer of writers) writer.kill('SIGTERM');
      for (const result of await Promise.all(done))
        failures += (JSON.parse(result.output) as { failures: number }).failures;
      for (const w of [0, 1]) {
        const { blocks, mismatches } = verifyAcknowledged('/dev/ublkb0', `${log}.${w}`);
        expect(mismatches, `cycle ${cycle}, writer ${w}`).toBe(0);
        verified += blocks;
        rmSync(`${log}.${w}`);
      }
    }
    process.stdout.write(
      `stress: -r 1: ${cycles} crashes, ${verified} acknowledged blocks verified, ${failures} writes failed in flight (EIO), recovery ms max ${Math.max(...times)} median ${times.sort((a, b) => a - b)[times.length >> 1]}, ${scriptTimes(firstCrash)}\n`,
    );
    expect(Math.max(...times)).toBeLessThan(2000);
  }, 3_600_000);

  it('-i 1 -q 2, memory: fio write+verify through each crash sees 0 errors; each recovery < 2 s', async () => {
    expect(tsublk('add', '-t', 'memory', '--size', '128M', '-n', '0', '-q', '2', '-i', '1').status).toBe(0);
    const times: number[] = [];
    const firstCrash = scriptMs.length;
    for (let cycle = 0; cycle < cycles; cycle++) {
      const fio = spawn(
        'fio',
        [
          '--name=crash',
          '--filename=/dev/ublkb0',
          '--ioengine=io_uring',
          '--direct=1',
          '--iodepth=32',
          '--rw=randwrite',
          '--bs=4k',
          '--size=128M',
          '--io_size=32M',
          '--verify=crc32c',
          '--do_verify=1',
          '--verify_fatal=1',
          '--output-format=json',
          `--randseed=${cycle + 1}`,
        ],
        { cwd: tmpdir() },
      ); // fio's verify state files go there
      const finished = exited(fio);
      await sleep(1500);
      times.push(await crashAndRecover(0));
      const { status, output } = await finished;
      const job = (
        JSON.parse(output.slice(output.indexOf('{'))) as { jobs: Array<{ error: number; read: { io_bytes: number } }> }
      ).jobs[0];
      expect(status, `cycle ${cycle}`).toBe(0);
      expect(job?.error, `cycle ${cycle}`).toBe(0);
      expect(job?.read.io_bytes, `cycle ${cycle}`).toBe(32 * 2 ** 20);
    }
    process.stdout.write(
      `stress: -i 1: ${cycles} crashes under fio verify, 0 errors, recovery ms max ${Math.max(...times)} median ${times.sort((a, b) => a - b)[times.length >> 1]}, ${scriptTimes(firstCrash)}\n`,
    );
    expect(Math.max(...times)).toBeLessThan(2000);
  }, 3_600_000);
});

/** Offsets fio's stderr names for failed writes and for failed verifies. */
function fioFailures(stderr: string): { failedWrites: Set<number>; badVerifies: number[] } {
  const failedWrites = new Set<number>();
  const badVerifies: number[] = [];
  for (const line of stderr.split('\n')) {
    const write = /io_u error .*: write offset=(\d+)/.exec(line);
    if (write !== null) failedWrites.add(Number(write[1]));
    const verify = /verify.* (?:failed|bad).* offset[ =](\d+)/i.exec(line);
    if (verify !== null) badVerifies.push(Number(verify[1]));
  }
  return { failedWrites, badVerifies };
}

describe(`fio with a verify state file through kill -9 and recover, ${cycles} cycles each`, () => {
  it.each([
    ['-r', '1'],
    ['-i', '1'],
  ])(
    '%s %s -q 2, memory: the verify-only pass finds every acknowledged write; each recovery < 2 s',
    async (flag, value) => {
      expect(tsublk('add', '-t', 'memory', '--size', '64M', '-n', '0', '-q', '2', flag, value).status).toBe(0);
      const dir = mkdtempSync('/tmp/tsublk-fio-state-');
      // 2 jobs x 8192 writes at 2000 a second each: the kill at 1.5 s lands mid-run.
      const job = [
        '--name=crash',
        '--filename=/dev/ublkb0',
        '--ioengine=io_uring',
        '--direct=1',
        '--iodepth=32',
        '--rw=randwrite',
        '--bs=4k',
        '--numjobs=2',
        '--size=32M',
        '--offset_increment=32M',
        '--verify=crc32c',
        '--verify_state_save=1',
        '--rate_iops=2000',
      ];
      const times: number[] = [];
      const firstCrash = scriptMs.length;
      let failedWrites = 0;
      let verifiedBytes = 0;
      try {
        for (let cycle = 0; cycle < cycles; cycle++) {
          const fio = spawn('fio', [...job, '--do_verify=0', `--randseed=${cycle + 1}`], { cwd: dir });
          let stderr = '';
          fio.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
          const finished = exited(fio);
          await sleep(1500);
          expect(fio.exitCode, `cycle ${cycle}: fio ended before the crash`).toBeNull();
          times.push(await crashAndRecover(0));
          const written = await finished;
          if (flag === '-i') expect(written.status, `cycle ${cycle}: ${stderr}`).toBe(0); // re-issued: fio sees nothing
          const { failedWrites: failed } = fioFailures(stderr);
          failedWrites += failed.size;
          const verify = run(
            'fio',
            [
              ...job.filter((option) => !option.startsWith('--rate_iops')),
              '--verify_only=1',
              '--verify_state_load=1',
              '--verify_fatal=0',
              `--randseed=${cycle + 1}`,
              '--output-format=json',
            ],
            { cwd: dir, timeoutMs: 600_000 },
          );
          const { badVerifies } = fioFailures(verify.stderr);
          // A write fio saw fail was never acknowledged: only it may read back as something else.
          expect(
            badVerifies.filter((offset) => !failed.has(offset)),
            `cycle ${cycle}: ${verify.stderr}`,
          ).toEqual([]);
          const report = JSON.parse(verify.stdout.slice(verify.stdout.indexOf('{'))) as {
            jobs: Array<{ read: { io_bytes: number } }>;
          };
          const read = report.jobs.reduce((sum, j) => sum + j.read.io_bytes, 0);
          expect(read, `cycle ${cycle}: the verify pass read nothing`).toBeGreaterThan(0);
          verifiedBytes += read;
          if (flag === '-i') expect(verify.status, `cycle ${cycle}: ${verify.stderr}`).toBe(0);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      process.stdout.write(
        `stress: fio state ${flag} ${value}: ${cycles} crashes, ${verifiedBytes >> 20} MiB verified, ${failedWrites} writes failed in flight (EIO), recovery ms max ${Math.max(...times)} median ${times.sort((a, b) => a - b)[times.length >> 1]}, ${scriptTimes(firstCrash)}\n`,
      );
      expect(Math.max(...times)).toBeLessThan(2000);
    },
    3_600_000,
  );
});

describe(`stopping under load, ${cycles} cycles each`, () => {
  it.each([[1], [4]])(
    'del under fio load on %d queue(s): no hang, nothing left',
    async (queues) => {
      for (let cycle = 0; cycle < cycles; cycle++) {
        expect(tsublk('add', '-t', 'null', '-n', '0', '-q', String(queues), '--size', '1G').status).toBe(0);
        const fio = spawn('fio', [
          '--name=load',
          '--filename=/dev/ublkb0',
          '--ioengine=io_uring',
          '--direct=1',
          '--iodepth=32',
          '--numjobs=2',
          '--rw=randrw',
          '--bs=4k',
          '--time_based',
          '--runtime=120',
        ]);
        const finished = exited(fio);
        await sleep(1500);
        const started = Date.now();
        const del = tsublk('del', '-n', '0');
        expect(del.status, `cycle ${cycle}: ${del.stderr}`).toBe(0);
        await finished; // fio's I/O fails once the device is gone: it ends, long before its 120 s
        expect(Date.now() - started, `cycle ${cycle}`).toBeLessThan(30_000);
        expect(leftovers(), `cycle ${cycle}`).toEqual({ devices: [], daemons: [], runFiles: [] });
      }
    },
    3_600_000,
  );

  it('SIGTERM to the daemon with I/O in flight: it stops, drains, deletes, and leaves nothing', async () => {
    for (let cycle = 0; cycle < cycles; cycle++) {
      expect(tsublk('add', '-t', 'memory', '-n', '0', '--size', '64M').status).toBe(0);
      const fio = spawn('fio', [
        '--name=load',
        '--filename=/dev/ublkb0',
        '--ioengine=io_uring',
        '--direct=1',
        '--iodepth=32',
        '--rw=randwrite',
        '--bs=4k',
        '--time_based',
        '--runtime=120',
      ]);
      const finished = exited(fio);
      await sleep(1500);
      process.kill(listed(0)?.daemon_pid ?? 0, 'SIGTERM');
      await finished;
      await waitFor(`cycle ${cycle}: daemon gone`, 30_000, () => leftovers().daemons.length === 0);
      expect(leftovers(), `cycle ${cycle}`).toEqual({ devices: [], daemons: [], runFiles: [] });
      expect(ok('ls', '/dev/shm').trim()).toBe('');
    }
  }, 3_600_000);
});
