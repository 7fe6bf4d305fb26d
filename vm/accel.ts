import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

export type Accelerator = { readonly name: 'kvm' | 'tcg'; readonly reason: string };

/**
 * KVM when it really works, TCG otherwise. `/dev/kvm` existing is not enough: on some hosts
 * (a PVM hypervisor, for one) QEMU aborts while setting up the vCPU. So QEMU is started paused
 * with KVM; if it is still alive after `settleMs`, KVM works.
 */
export async function chooseAccelerator(qemu: string, settleMs = 1000): Promise<Accelerator> {
  const forced = process.env['TSUBLK_VM_ACCEL'];
  if (forced === 'tcg' || forced === 'kvm') return { name: forced, reason: 'TSUBLK_VM_ACCEL' };
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return { name: 'tcg', reason: 'no usable /dev/kvm' };
  }
  const probe = spawn(
    qemu,
    [
      '-accel',
      'kvm',
      '-cpu',
      'host',
      '-machine',
      'q35',
      '-nodefaults',
      '-display',
      'none',
      '-monitor',
      'none',
      '-serial',
      'none',
      '-S',
    ],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  probe.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), settleMs);
    probe.on('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
  if (!exited) {
    probe.kill('SIGKILL');
    return { name: 'kvm', reason: '/dev/kvm works' };
  }
  const why = (stderr.trim().split('\n')[0] ?? '').replace(/^.*?error: /, '') || 'QEMU exited';
  return { name: 'tcg', reason: `KVM probe failed: ${why}` };
}
