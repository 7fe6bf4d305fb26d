import { spawn } from 'node:child_process';
import {
  constants,
  copyFileSync,
  createReadStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  closeSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { type Accelerator, chooseAccelerator } from './accel.js';
import { VmError, findExecutable, runTool } from './host-tools.js';
import { buildInitramfs } from './initramfs.js';
import { type GuestKernel, resolveKernel } from './kernel.js';
import { guestScriptsDir, projectRoot, vmCacheDir } from './paths.js';
import { ensureHostTools, vmHostTools } from './prerequisites.js';

export interface VmOptions {
  /** `trixie`, `sid` or a path to a vmlinuz. */
  readonly kernel: string;
  readonly cpus: number;
  /** Guest memory as QEMU takes it: `4G`, `2048M`. */
  readonly mem: string;
  readonly timeoutSeconds: number;
  /** Also load null_blk and brd, the kernel's own devices to compare against. */
  readonly anchors: boolean;
  /**
   * The guest's PID 1: `bash` runs the command straight after the kernel (fastest); `systemd`
   * boots to multi-user.target first and runs it as a service, as a real machine would.
   */
  readonly init: 'bash' | 'systemd';
  /**
   * A host folder laid over the guest's root, read-only: what a test leaves there in one boot
   * (writing it through the project's share) is in the next boot's / from the start, as on a disk.
   */
  readonly layer: string | null;
  /** A shell command, run by bash in the guest. */
  readonly command: string;
  /** Where the command starts (the same path exists in the guest). */
  readonly cwd: string;
  /** One-line messages from the harness itself (not the guest's output). */
  readonly log: (line: string) => void;
}

/** Exit statuses of the harness itself, beside the command's own (as timeout(1) and docker do). */
export const vmExit = { timedOut: 124, failed: 125 } as const;

export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The guest's job: enter the caller's directory, take the passed-through environment, run. */
export function jobScript(command: string, cwd: string, env: Readonly<Record<string, string>>): string {
  const exports = Object.entries(env).map(([name, value]) => `export ${name}=${shellQuote(value)}\n`);
  return [
    `cd -- ${shellQuote(cwd)} || { echo "vm: ${cwd.replace(/["$`\\]/g, '')} is not visible in the guest" >&2; exit ${vmExit.failed}; }\n`,
    ...exports,
    'export TSUBLK_IN_VM=1\n',
    command,
    '\n',
  ].join('');
}

/** Host variables the guest should see: CI switches, colour preferences and tsublk's own. */
export function passedEnvironment(env: NodeJS.ProcessEnv): Record<string, string> {
  const passed: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && (['CI', 'NO_COLOR', 'FORCE_COLOR'].includes(name) || name.startsWith('TSUBLK_')))
      passed[name] = value;
  }
  return passed;
}

/** The lines of a console log worth showing for a panic, or null when there was none. */
export function panicReport(consoleLog: string): string | null {
  const lines = consoleLog.split(/\r?\n/);
  const start = lines.findIndex((line) => /Kernel panic|BUG: |Oops: /.test(line));
  if (start < 0) return null;
  return lines.slice(Math.max(0, start - 5), start + 40).join('\n');
}

function lastLines(text: string, count: number): string {
  return text
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '')
    .slice(-count)
    .map((l) => `  | ${l}`)
    .join('\n');
}

/** Copies a FIFO that QEMU writes into one of our streams; resolves at end of file. */
function pump(fifo: string, into: Writable): Promise<void> {
  return new Promise((resolve) => {
    const stream = createReadStream(fifo);
    stream.on('data', (chunk) => into.write(chunk));
    stream.on('end', resolve);
    stream.on('error', () => resolve());
  });
}

/** Ends a reader still blocked opening a FIFO that QEMU never opened (it failed first). */
function releaseFifoReader(fifo: string): void {
  try {
    closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
  } catch {
    // no reader waiting: nothing to release
  }
}

/** Boots the VM, runs the command in it, and returns the command's exit status. */
export async function runInVm(options: VmOptions): Promise<number> {
  const { log } = options;
  ensureHostTools(vmHostTools, log);
  const cache = vmCacheDir();
  const kernel = resolveKernel(options.kernel, cache, log);
  const initramfs = buildInitramfs(kernel, cache);
  const qemu = findExecutable('qemu-system-x86_64');
  if (qemu === null) throw new VmError('qemu-system-x86_64 is missing');
  let accel = await chooseAccelerator(qemu);
  log(
    `Linux ${kernel.release} (${kernel.origin}) under ${accel.name.toUpperCase()} (${accel.reason}), ${options.cpus} CPUs, ${options.mem}`,
  );

  // Under TCG with several vCPUs the kernel can crash while patching its own code at boot
  // (seen once in many boots: an int3 Oops in early initcalls). Nothing ran yet: boot again, once.
  let crashes = 0;
  for (;;) {
    const status = await bootAndRun(options, kernel, initramfs, qemu, accel, cache);
    if (status === kvmFailedBooting) {
      accel = { name: 'tcg', reason: 'KVM failed while booting' };
      log('KVM could not run the guest kernel (QEMU: "KVM internal error"): booting again under TCG');
    } else if (status !== crashedBooting) return status;
    else if (++crashes === 2) return vmExit.failed;
    else log('the guest kernel crashed while booting, before the command ran: booting again');
  }
}

/** bootAndRun's answer when the kernel crashed before the command started. */
const crashedBooting = -1;
/**
 * bootAndRun's answer when KVM stopped the guest before the command started. Some hosts (a PVM
 * hypervisor) start a KVM vCPU, so the probe passes, then fail to emulate an instruction the
 * kernel runs while decompressing itself: QEMU prints "KVM internal error" and waits forever.
 */
const kvmFailedBooting = -2;

async function bootAndRun(
  options: VmOptions,
  kernel: GuestKernel,
  initramfs: string,
  qemu: string,
  accel: Accelerator,
  cache: string,
): Promise<number> {
  const { log } = options;
  const runDir = mkdtempSync(path.join(tmpdir(), 'tsublk-vm-'));
  try {
    const control = path.join(runDir, 'control');
    mkdirSync(control);
    copyFileSync(path.join(guestScriptsDir(), 'stage2.sh'), path.join(control, 'stage2.sh'));
    writeFileSync(
      path.join(control, 'job.sh'),
      jobScript(options.command, options.cwd, passedEnvironment(process.env)),
    );
    writeFileSync(path.join(control, 'job.env'), `TSUBLK_VM_ANCHORS=${options.anchors ? 1 : 0}\n`);
    // QEMU's pipe chardev reads NAME.in and writes NAME.out, so it never reads back its own output.
    for (const name of ['stdout', 'stderr'])
      for (const end of ['in', 'out']) runTool('mkfifo', [path.join(runDir, `${name}.${end}`)]);
    const consoleLog = path.join(runDir, 'console.log');
    const project = projectRoot();

    const append = [
      'console=ttyS0',
      'panic=-1',
      'quiet',
      'loglevel=4',
      'mitigations=off',
      // TCG keeps the code it translated by virtual address: with ASLR each process maps its
      // libraries and stack somewhere new and pays for translating them again. A disposable guest
      // needs no ASLR (one TCG boot, bench:start: bare node 309→238 ms, add 1,493→1,390 ms).
      ...(accel.name === 'tcg' ? ['norandmaps'] : []),
      `tsublk.project=${project}`,
      `tsublk.modules=${kernel.modulesDir === null ? 0 : 1}`,
      `tsublk.accel=${accel.name}`, // for what the guest reports (npm run bench's header)
      ...(options.init === 'systemd' ? ['tsublk.init=systemd', 'systemd.unit=multi-user.target'] : []),
      ...(options.layer === null ? [] : [`tsublk.layer=${options.layer}`]),
    ];
    const share = (tag: string, dir: string, readonly: boolean): string[] => [
      '-virtfs',
      `local,path=${dir},mount_tag=${tag},security_model=none,multidevs=remap${readonly ? ',readonly=on' : ''}`,
    ];
    const args = [
      '-machine',
      'q35',
      ...(accel.name === 'kvm' ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', 'tcg', '-cpu', 'max']),
      '-smp',
      String(options.cpus),
      '-m',
      options.mem,
      '-nodefaults',
      '-no-user-config',
      '-display',
      'none',
      '-no-reboot',
      '-kernel',
      kernel.vmlinuz,
      '-initrd',
      initramfs,
      '-append',
      append.join(' '),
      '-chardev',
      `file,id=console,path=${consoleLog}`,
      '-serial',
      'chardev:console',
      '-device',
      'virtio-serial-pci,id=ports',
      '-chardev',
      `pipe,id=stdout,path=${path.join(runDir, 'stdout')}`,
      '-device',
      'virtserialport,bus=ports.0,chardev=stdout,name=tsublk.stdout',
      '-chardev',
      `pipe,id=stderr,path=${path.join(runDir, 'stderr')}`,
      '-device',
      'virtserialport,bus=ports.0,chardev=stderr,name=tsublk.stderr',
      ...share('hostroot', '/', true),
      ...share('project', project, false),
      ...(kernel.modulesDir === null ? [] : share('modules', kernel.modulesDir, true)),
      ...share('control', control, false),
      ...(options.layer === null ? [] : share('layer', options.layer, true)),
    ];

    const child = spawn(qemu, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let qemuOutput = '';
    let kvmFailed = false;
    const onQemuOutput = (chunk: Buffer): void => {
      qemuOutput += chunk.toString();
      // QEMU leaves a vCPU that KVM cannot run paused, not exited: stop it here.
      if (!kvmFailed && accel.name === 'kvm' && qemuOutput.includes('KVM internal error')) {
        kvmFailed = true;
        child.kill('SIGKILL');
      }
    };
    child.stdout.on('data', onQemuOutput);
    child.stderr.on('data', onQemuOutput);
    const pumps = [
      pump(path.join(runDir, 'stdout.out'), process.stdout),
      pump(path.join(runDir, 'stderr.out'), process.stderr),
    ];

    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutSeconds * 1000);
    const interrupt = (signal: NodeJS.Signals): void => {
      child.kill('SIGKILL');
      log(`interrupted by ${signal}: the guest was killed`);
      process.exit(signal === 'SIGINT' ? 130 : 143);
    };
    process.on('SIGINT', interrupt).on('SIGTERM', interrupt);
    const qemuStatus = await new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    clearTimeout(timer);
    process.off('SIGINT', interrupt).off('SIGTERM', interrupt);
    for (const name of ['stdout', 'stderr']) releaseFifoReader(path.join(runDir, `${name}.out`));
    await Promise.all(pumps);

    const consoleText = existsSync(consoleLog) ? readFileSync(consoleLog, 'utf8') : '';
    mkdirSync(cache, { recursive: true });
    writeFileSync(path.join(cache, 'last-console.log'), consoleText);
    const statusFile = path.join(control, 'status');
    if (existsSync(statusFile)) return Number.parseInt(readFileSync(statusFile, 'utf8'), 10);
    if (kvmFailed) {
      if (!existsSync(path.join(control, 'started'))) return kvmFailedBooting;
      log(`KVM stopped the guest while the command ran; QEMU said:\n${lastLines(qemuOutput, 10)}`);
      return vmExit.failed;
    }

    const panic = panicReport(consoleText);
    if (panic !== null) {
      log(`the guest kernel crashed:\n${panic}`);
      return existsSync(path.join(control, 'started')) ? vmExit.failed : crashedBooting;
    }
    if (timedOut) {
      log(
        `the guest ran past --timeout ${options.timeoutSeconds} s and was killed; its console ended with:\n${lastLines(consoleText, 20)}`,
      );
      return vmExit.timedOut;
    }
    const qemuSays = qemuOutput.trim() === '' ? '' : `\nQEMU said:\n${lastLines(qemuOutput, 10)}`;
    log(
      `the guest stopped without an exit status (QEMU exit ${qemuStatus ?? 'by signal'}); its console ended with:\n${lastLines(consoleText, 20)}${qemuSays}`,
    );
    return vmExit.failed;
  } finally {
    rmSync(runDir, { recursive: true, force: true });
  }
}
