// `npm run bench`: fio against tsublk's targets and the kernel's own devices in the same boot:
// tsublk null against null_blk, tsublk memory against brd, tsublk loop against the kernel's loop
// driver (both O_DIRECT on one file on ext4 on brd), and where the kernel has AUTO_BUF_REG (6.16)
// tsublk loop with -z (zero copy) against the same. Runs inside the VM (bench/run.ts boots
// it with --anchors); prints IOPS, the ratio to the anchor, the server's CPU time per I/O and the
// I/Os it served per io_uring_enter.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ResultRow, type Results, comparisonLines, reportHtml, resultsCsv } from './report.js';
import { type Suite, type Workload, suites } from './suites.js';
import { Progress } from './progress.js';
import { ReportPathError, readComparison } from './report-paths.js';
import { QueueCounter, SLOT_FIELDS, StatsMapping } from '../src/ublk/stats.js';

const tsublk = fileURLToPath(new URL('../../bin/tsublk', import.meta.url));
const DEV_ID = 0;

interface FioResult {
  iops: number;
  ios: number;
  /** Completion latency of the direction that did the I/O (µs): mean and percentiles. */
  latMeanUs: number;
  latP50Us: number;
  latP99Us: number;
  latP999Us: number;
}

interface FioDirection {
  iops: number;
  total_ios: number;
  clat_ns: { mean: number; percentile?: Record<string, number> };
}

function fioIops(device: string, workload: Workload, seconds: number): FioResult {
  const output = execFileSync(
    'fio',
    [
      '--name=bench',
      `--filename=${device}`,
      `--rw=${workload.rw}`,
      `--bs=${workload.bs}`,
      `--iodepth=${workload.iodepth}`,
      `--numjobs=${workload.jobs}`,
      '--ioengine=io_uring',
      '--direct=1',
      '--time_based',
      `--runtime=${seconds}`,
      '--group_reporting',
      '--output-format=json',
    ],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  const report = JSON.parse(output.slice(output.indexOf('{'))) as {
    jobs: Array<{
      error: number;
      read: FioDirection;
      write: FioDirection;
    }>;
  };
  const job = report.jobs[0];
  if (job === undefined || job.error !== 0) throw new Error(`fio on ${device} failed: ${JSON.stringify(job?.error)}`);
  const main = job.read.total_ios >= job.write.total_ios ? job.read : job.write;
  return {
    iops: job.read.iops + job.write.iops,
    ios: job.read.total_ios + job.write.total_ios,
    latMeanUs: main.clat_ns.mean / 1000,
    latP50Us: (main.clat_ns.percentile?.['50.000000'] ?? 0) / 1000,
    latP99Us: (main.clat_ns.percentile?.['99.000000'] ?? 0) / 1000,
    latP999Us: (main.clat_ns.percentile?.['99.900000'] ?? 0) / 1000,
  };
}

/** utime and stime of a process, in seconds. */
function cpuSeconds(pid: number): { user: number; system: number } {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  // fields 14 and 15 of stat(5); USER_HZ is 100 on Linux
  return { user: Number(fields[11]) / 100, system: Number(fields[12]) / 100 };
}

function serverCounters(stats: StatsMapping, queues: number): { enters: number; requests: number } {
  let enters = 0;
  let requests = 0;
  for (let q = 0; q < queues; q++) {
    enters += stats.counters[q * SLOT_FIELDS + QueueCounter.Enters] ?? 0;
    requests += stats.counters[q * SLOT_FIELDS + QueueCounter.Requests] ?? 0;
  }
  return { enters, requests };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  return at < 0 ? fallback : Number(process.argv[at + 1]);
}

type Row = { -readonly [K in keyof ResultRow]: ResultRow[K] };

/** How the runs are made: fio's length and count, and where tsublk's queue threads run (add --placement). */
interface Settings {
  readonly runs: number;
  readonly seconds: number;
  /** Each workload's unmeasured first run on tsublk (seconds; 0: none). */
  readonly warmup: number;
  readonly json: boolean;
  readonly only: ReadonlySet<string> | null;
  readonly placement: string;
  /** Every fio run measured is a step of it (a terminal sees where the benchmark is). */
  readonly progress: Progress;
}

/** The suite's workloads that --workloads chose (all of them without it). */
function chosenWorkloads(suite: Suite, only: ReadonlySet<string> | null): Workload[] {
  return suite.workloads.filter((workload) => only === null || only.has(workload.name));
}

function runSuite(suite: Suite, settings: Settings): Row[] {
  execFileSync(tsublk, ['del', '-a']);
  const undo = suite.prepare?.() ?? ((): void => undefined);
  try {
    return measureSuite(suite, settings);
  } finally {
    undo();
  }
}

function measureSuite(suite: Suite, { runs, seconds, warmup, json, only, placement, progress }: Settings): Row[] {
  if (!existsSync(suite.anchorPath))
    throw new Error(
      `${suite.anchorPath} is missing: run the benchmark with npm run bench (it loads null_blk and brd in the VM)`,
    );
  // 'default': each target's own placement (beside; nbd: auto), as a user gets it.
  const placed = placement === 'default' ? [] : ['--placement', placement];
  execFileSync(tsublk, ['add', ...suite.add, '-n', String(DEV_ID), '-q', '2', '-d', '128', ...placed], {
    stdio: 'ignore',
  });
  const list = JSON.parse(
    execFileSync(tsublk, ['list', '-n', String(DEV_ID), '--json'], { encoding: 'utf8' }),
  ) as Array<{ daemon_pid: number }>;
  const daemon = list[0]?.daemon_pid ?? 0;
  const stats = StatsMapping.read(DEV_ID, 2);
  if (stats === null) throw new Error('the tsublk device has no stats file');
  if (suite.precondition) {
    for (const device of [`/dev/ublkb${DEV_ID}`, suite.anchorPath])
      execFileSync('dd', ['if=/dev/zero', `of=${device}`, 'bs=1M', 'count=1024', 'oflag=direct', 'status=none']); // both are 1 GiB
  }
  const rows: Row[] = [];
  try {
    for (const workload of chosenWorkloads(suite, only)) {
      // Unmeasured first: each queue thread compiles the code a workload takes in its own isolate,
      // and under TCG that takes seconds of I/O (nbd, 128k writes at QD16, 5 s runs one after
      // another: 472, 641, 746, 921 IOPS while V8 still optimized the queue loop and queueRq).
      if (warmup > 0) {
        progress.step(`${suite.device} ${workload.name}: tsublk, warming up`);
        fioIops(`/dev/ublkb${DEV_ID}`, workload, warmup);
      }
      const ours: number[] = [];
      const anchor: number[] = [];
      const cpuPerIo: number[] = [];
      const userPerIo: number[] = [];
      const perEnter: number[] = [];
      const latMean: number[] = [];
      const latP50: number[] = [];
      const latP99: number[] = [];
      const latP999: number[] = [];
      for (let run = 0; run < runs; run++) {
        const of = `run ${run + 1} of ${runs}`;
        progress.step(`${suite.device} ${workload.name}: tsublk, ${of}`);
        const cpuBefore = cpuSeconds(daemon);
        const countersBefore = serverCounters(stats, 2);
        const result = fioIops(`/dev/ublkb${DEV_ID}`, workload, seconds);
        const countersAfter = serverCounters(stats, 2);
        ours.push(result.iops);
        latMean.push(result.latMeanUs);
        latP50.push(result.latP50Us);
        latP99.push(result.latP99Us);
        latP999.push(result.latP999Us);
        const cpuAfter = cpuSeconds(daemon);
        const ios = Math.max(1, result.ios);
        cpuPerIo.push(((cpuAfter.user + cpuAfter.system - cpuBefore.user - cpuBefore.system) / ios) * 1e6);
        userPerIo.push(((cpuAfter.user - cpuBefore.user) / ios) * 1e6);
        perEnter.push(
          (countersAfter.requests - countersBefore.requests) /
            Math.max(1, countersAfter.enters - countersBefore.enters),
        );
        progress.step(`${suite.device} ${workload.name}: ${suite.anchor}, ${of}`);
        anchor.push(fioIops(suite.anchorPath, workload, seconds).iops);
      }
      const row: Row = {
        device: suite.device,
        anchor: suite.anchor,
        workload: workload.name,
        iops: Math.round(median(ours)),
        anchor_iops: Math.round(median(anchor)),
        ratio: Math.round((median(ours) / median(anchor)) * 100) / 100,
        server_cpu_us_per_io: Math.round(median(cpuPerIo) * 100) / 100,
        server_user_us_per_io: Math.round(median(userPerIo) * 100) / 100,
        ios_per_enter: Math.round(median(perEnter) * 10) / 10,
        lat_mean_us: Math.round(median(latMean)),
        lat_p50_us: Math.round(median(latP50)),
        lat_p99_us: Math.round(median(latP99)),
        lat_p999_us: Math.round(median(latP999)),
      };
      rows.push(row);
      if (!json)
        progress.print(
          `${row.device} ${row.workload}: ${row.iops} vs ${row.anchor} ${row.anchor_iops} (${row.ratio})\n`,
        );
    }
  } finally {
    stats.unmap();
    execFileSync(tsublk, ['del', '-n', String(DEV_ID)]);
  }
  return rows;
}

export function main(): void {
  const json = process.argv.includes('--json');
  const runs = option('--runs', 3);
  const seconds = option('--seconds', 5);
  const warmup = option('--warmup', 3);
  const onlyAt = process.argv.indexOf('--only');
  const only = onlyAt < 0 ? null : (process.argv[onlyAt + 1] ?? '').split(',');
  const workloadsAt = process.argv.indexOf('--workloads');
  const onlyWorkloads = workloadsAt < 0 ? null : new Set((process.argv[workloadsAt + 1] ?? '').split(','));
  const placementAt = process.argv.indexOf('--placement');
  const placement = placementAt < 0 ? 'default' : (process.argv[placementAt + 1] ?? 'default');
  // Read before the runs: a wrong path is said at once, not after minutes of measuring.
  const compareAt = process.argv.indexOf('--compare');
  let previous: Results | undefined;
  try {
    previous = compareAt < 0 ? undefined : readComparison(process.argv[compareAt + 1] ?? '');
  } catch (error) {
    if (!(error instanceof ReportPathError)) throw error;
    process.stderr.write(`bench: ${error.message}\n`);
    process.exit(2);
  }
  const kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  const features = (
    JSON.parse(execFileSync(tsublk, ['features', '--json'], { encoding: 'utf8' })) as { names: string[] }
  ).names;
  const chosen = suites
    .filter((suite) => only === null || only.some((name) => suite.device === `tsublk-${name}`))
    .filter((suite) => {
      if (suite.needs === undefined || features.includes(suite.needs)) return true;
      process.stderr.write(`${suite.device}: left out, Linux ${kernel} lacks ${suite.needs}\n`);
      return false;
    });
  // Two fio runs (tsublk's, the anchor's) per workload and run, and the workload's warm-up.
  const steps = chosen.reduce((sum, suite) => sum + chosenWorkloads(suite, onlyWorkloads).length, 0);
  const progress = new Progress(steps * (runs * 2 + (warmup > 0 ? 1 : 0)));
  const settings: Settings = { runs, seconds, warmup, json, only: onlyWorkloads, placement, progress };
  const rows = chosen.flatMap((suite) => runSuite(suite, settings));
  progress.end();
  for (const row of rows) {
    const base = suites.find((suite) => suite.device === row.device)?.base;
    const baseRow = rows.find((other) => other.device === base && other.workload === row.workload);
    if (base !== undefined && baseRow !== undefined) {
      row.base = base;
      row.of_base = Math.round((row.iops / baseRow.iops) * 100) / 100;
    }
  }
  const results: Results = {
    kernel,
    placement,
    cpus: os.availableParallelism(),
    accel: guestAccel() ?? 'unknown',
    runs,
    seconds,
    warmup,
    rows,
  };
  const reportAt = process.argv.indexOf('--report');
  if (reportAt >= 0) writeReport(process.argv[reportAt + 1] ?? 'bench-report', results, previous);
  if (json) {
    process.stdout.write(JSON.stringify(results) + '\n');
    return;
  }
  console.log(
    `fio, io_uring, direct, ${seconds} s per run, median of ${runs} after a ${warmup} s warm-up; Linux ${kernel}; tsublk 2 queues x 128, placement ${placement === 'default' ? "each target's default" : placement}`,
  );
  console.log(
    'device          workload              tsublk IOPS  anchor IOPS (anchor)  ratio  server CPU µs/IO (user)  IOs/enter  lat µs mean/p99  of base',
  );
  for (const r of rows) {
    console.log(
      `${r.device.padEnd(15)} ${r.workload.padEnd(21)} ${String(r.iops).padStart(11)}  ${String(r.anchor_iops).padStart(11)} ${`(${r.anchor})`.padEnd(10)} ${r.ratio.toFixed(2).padStart(5)}  ${r.server_cpu_us_per_io.toFixed(2).padStart(16)} ${`(${r.server_user_us_per_io.toFixed(2)})`.padStart(7)}  ${r.ios_per_enter.toFixed(1).padStart(9)}  ${`${r.lat_mean_us}/${r.lat_p99_us}`.padStart(15)}  ${r.of_base === undefined ? '' : `${r.of_base.toFixed(2).padStart(7)} (${r.base ?? ''})`}`,
    );
  }
  if (previous !== undefined) for (const line of comparisonLines(results, previous)) console.log(line);
}

/** QEMU's accelerator, which the VM names on the guest's kernel command line (tsublk.accel=). */
function guestAccel(): string | undefined {
  return /\btsublk\.accel=(\w+)/.exec(readFileSync('/proc/cmdline', 'utf8'))?.[1];
}

/** --report DIR: results.json, results.csv and report.html (compared with --compare's run, if given). */
function writeReport(dir: string, results: Results, previous: Results | undefined): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'results.json'), JSON.stringify(results, null, 2) + '\n');
  writeFileSync(path.join(dir, 'results.csv'), resultsCsv(results));
  writeFileSync(path.join(dir, 'report.html'), reportHtml(results, previous));
  if (process.env['TSUBLK_BENCH_STAGED'] !== '1') process.stderr.write(`report: ${path.resolve(dir, 'report.html')}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
