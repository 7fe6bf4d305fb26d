import { chownSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UBLK_F } from '../../native-bindings/ublk_cmd.js';
import { ControlDevice } from '../ublk/control.js';
import { UblkError } from '../ublk/errors.js';
import { printErr } from './output.js';

const binPath = fileURLToPath(new URL('../../../bin/tsublk', import.meta.url));
const nodeName = /^ublk([bc])(\d+)$/;

/** The udev rules that let users serve unprivileged devices, with this installation's paths. */
export function udevRules(): string {
  const run = `${process.execPath} ${binPath} udev %k`;
  return [
    '# tsublk: unprivileged ublk devices (tsublk add --unprivileged) belong to the user who added them.',
    '# Install: sudo tsublk udev-rules | sudo tee /etc/udev/rules.d/90-tsublk.rules && sudo udevadm control --reload',
    'KERNEL=="ublk-control", MODE="0666", OPTIONS+="static_node=ublk-control"',
    `ACTION=="add", KERNEL=="ublkc[0-9]*", RUN+="${run}"`,
    `ACTION=="add", KERNEL=="ublkb[0-9]*", RUN+="${run}"`,
    '',
  ].join('\n');
}

/**
 * Gives an unprivileged device's node (/dev/ublkcN or /dev/ublkbN) to the user who added it, as
 * the kernel recorded (owner uid/gid). Privileged devices' nodes stay root's. Returns the owner.
 */
export function handOver(control: ControlDevice, name: string): { uid: number; gid: number } | null {
  const match = nodeName.exec(name);
  if (match === null) throw new UblkError(`${name} is not a ublk device node: expected ublkcN or ublkbN`);
  const info = control.getDeviceInfo(Number(match[2]));
  if ((info.flags & UBLK_F.UNPRIVILEGED_DEV) === 0) return null;
  chownSync(`/dev/${name}`, info.ownerUid, info.ownerGid);
  return { uid: info.ownerUid, gid: info.ownerGid };
}

/** `tsublk udev NAME`: what the udev rule runs for each new ublk node. */
export function udevOnce(name: string): void {
  const control = ControlDevice.open();
  try {
    handOver(control, name.replace(/^\/dev\//, ''));
  } finally {
    control.close();
  }
}

/**
 * `tsublk udev --watch`: does the rule's work where no udev runs (containers, minimal VMs):
 * every new ublk node is handed over as soon as it appears. Runs until SIGINT/SIGTERM.
 */
export async function udevWatch(): Promise<void> {
  const control = ControlDevice.open();
  const seen = new Map<string, number>(); // node name → its rdev, so a reused name is seen anew
  let running = true;
  const stop = (): void => {
    running = false;
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    while (running) {
      const present = new Set<string>();
      for (const name of readdirSync('/dev')) {
        if (!nodeName.test(name)) continue;
        present.add(name);
        let rdev: number;
        try {
          rdev = statSync(`/dev/${name}`).rdev;
        } catch {
          continue; // gone meanwhile
        }
        if (seen.get(name) === rdev) continue;
        try {
          handOver(control, name);
          seen.set(name, rdev);
        } catch (error) {
          // The device may be half made (ENODEV until ADD_DEV returns) or gone: try again next round.
          if ((error as { code?: string }).code !== 'ENODEV')
            printErr(`tsublk udev: ${name}: ${(error as Error).message}\n`);
        }
      }
      for (const name of seen.keys()) if (!present.has(name)) seen.delete(name);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    control.close();
  }
}
