// `npm run demo [-- --seconds N]`: a 1 GiB memory device end to end: add, ext4, files written and
// read back, a fio run of N seconds (10), the `list` entry, then everything removed. Where this kernel has no ublk_drv
// (or with --vm), the same runs inside the VM.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { kernelRelease } from './system.js';

const bin = fileURLToPath(new URL('../../../bin/tsublk', import.meta.url));
const vmCli = fileURLToPath(new URL('../../vm/cli.js', import.meta.url));
const self = fileURLToPath(import.meta.url);

function say(line: string): void {
  process.stdout.write(`demo: ${line}\n`);
}

/** Runs a command, echoing it; throws with its stderr when it fails. */
function sh(command: string, args: readonly string[], quiet = false): string {
  if (!quiet) say(`$ ${[command, ...args].join(' ')}`);
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.error !== undefined) throw new Error(`${command}: ${result.error.message}`);
  if (result.status !== 0)
    throw new Error(`${command} ${args.join(' ')} exited ${result.status}: ${result.stderr.trim()}`);
  return result.stdout;
}

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** How long fio runs: --seconds N (a whole number from 1), else 10. */
function fioSeconds(argv: readonly string[]): number {
  const at = argv.indexOf('--seconds');
  if (at < 0) return 10;
  const seconds = Number(argv[at + 1]);
  if (!Number.isInteger(seconds) || seconds < 1)
    throw new Error(`bad --seconds ${argv[at + 1]}: use a whole number from 1`);
  return seconds;
}

function demo(seconds: number): void {
  say(`Linux ${kernelRelease()}, ublk_drv loaded: a 1 GiB memory device, end to end`);
  const added = sh(process.execPath, [bin, 'add', '-t', 'memory', '--size', '1G', '--json']);
  const devId = (JSON.parse(added) as Array<{ dev_id: number }>)[0]?.dev_id;
  if (devId === undefined) throw new Error('add printed no device');
  const device = `/dev/ublkb${devId}`;
  const mountPoint = mkdtempSync(path.join(os.tmpdir(), 'tsublk-demo-'));
  let mounted = false;
  try {
    say(`${device} is live`);
    sh('mkfs.ext4', ['-q', '-F', device]);
    sh('mount', [device, mountPoint]);
    mounted = true;
    const sums = new Map<string, string>();
    for (let i = 0; i < 5; i++) {
      const file = path.join(mountPoint, `file${i}`);
      const bytes = Buffer.alloc(16 * 2 ** 20);
      for (let at = 0; at < bytes.length; at += 4096) bytes.writeUInt32LE((i * 0x9e3779b9 + at) >>> 0, at);
      writeFileSync(file, bytes);
      sums.set(file, createHash('sha256').update(bytes).digest('hex'));
    }
    sh('sync', []);
    sh('umount', [mountPoint]);
    mounted = false;
    sh('mount', [device, mountPoint]); // read back from the device, not from the page cache
    mounted = true;
    for (const [file, sum] of sums) if (sha256(file) !== sum) throw new Error(`${file} came back different`);
    say(`wrote 5 files of 16 MiB on ext4, unmounted, mounted again: all read back identical`);
    sh('umount', [mountPoint]);
    mounted = false;
    const fio = sh('fio', [
      '--name=demo',
      `--filename=${device}`,
      '--ioengine=io_uring',
      '--direct=1',
      '--rw=randrw',
      '--bs=4k',
      '--iodepth=32',
      '--time_based',
      `--runtime=${seconds}`,
      '--output-format=json',
    ]);
    const job = (
      JSON.parse(fio.slice(fio.indexOf('{'))) as {
        jobs: Array<{
          read: { iops: number; bw_bytes: number };
          write: { iops: number; bw_bytes: number };
          error: number;
        }>;
      }
    ).jobs[0];
    if (job === undefined || job.error !== 0) throw new Error(`fio failed: ${fio}`);
    say(
      `fio randrw 4k QD32, ${seconds} s: ${Math.round(job.read.iops + job.write.iops)} IOPS, ${((job.read.bw_bytes + job.write.bw_bytes) / 2 ** 20).toFixed(1)} MiB/s`,
    );
    process.stdout.write(sh(process.execPath, [bin, 'list', '-n', String(devId), '-v']));
  } finally {
    if (mounted) spawnSync('umount', [mountPoint]);
    rmSync(mountPoint, { recursive: true, force: true });
    sh(process.execPath, [bin, 'del', '-n', String(devId)]);
  }
  say(`deleted ${device}: nothing left behind`);
}

const wantVm = process.argv.includes('--vm');
if (process.env['TSUBLK_IN_VM'] !== '1' && (wantVm || !existsSync('/dev/ublk-control'))) {
  say(
    `${wantVm ? 'as asked' : `this kernel (${kernelRelease()}) has no ublk_drv`}: running the demo inside the VM (npm run vm)`,
  );
  const result = spawnSync(process.execPath, [vmCli, '--', process.execPath, self, ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  process.exitCode = result.status ?? 1;
} else if (process.geteuid?.() !== 0) {
  process.stderr.write('demo: needs root to add a device and mount it: sudo npm run demo (or npm run demo -- --vm)\n');
  process.exitCode = 1;
} else {
  try {
    demo(fioSeconds(process.argv));
  } catch (error) {
    process.stderr.write(`demo: ${(error as Error).message}\n`);
    process.exitCode = 1;
  }
}
