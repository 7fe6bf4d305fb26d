import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';

/** What the running kernel says of ublk_drv: built in, a module, left out, or nothing found to tell. */
export interface UblkInKernel {
  readonly state: 'builtin' | 'module' | 'absent' | 'unknown';
  /** Where that was read (/proc/config.gz, /boot/config-…, modules.dep). */
  readonly source: string;
}

/** The kernel's build configuration, from /proc/config.gz or /boot/config-<release>; null when neither exists. */
function kernelConfig(kernel: string): { text: string; source: string } | null {
  try {
    if (existsSync('/proc/config.gz')) {
      const zlib = process.getBuiltinModule('node:zlib'); // only on this error path: no cost to every start
      return { text: zlib.gunzipSync(readFileSync('/proc/config.gz')).toString(), source: '/proc/config.gz' };
    }
    const boot = `/boot/config-${kernel}`;
    if (existsSync(boot)) return { text: readFileSync(boot, 'utf8'), source: boot };
  } catch {
    // Unreadable: fall back to the module lists.
  }
  return null;
}

/** CONFIG_BLK_DEV_UBLK in a kernel config's text: y, m, or not set. */
export function ublkInConfig(text: string, source: string): UblkInKernel {
  const value = /^CONFIG_BLK_DEV_UBLK=([ym])$/m.exec(text)?.[1];
  return { state: value === 'y' ? 'builtin' : value === 'm' ? 'module' : 'absent', source };
}

/** Whether this kernel has ublk_drv at all, so that a missing /dev/ublk-control can be explained. */
export function ublkInKernel(kernel = release()): UblkInKernel {
  const config = kernelConfig(kernel);
  if (config !== null) return ublkInConfig(config.text, config.source);
  const modules = `/lib/modules/${kernel}`;
  try {
    if (readFileSync(`${modules}/modules.builtin`, 'utf8').includes('/ublk_drv.ko'))
      return { state: 'builtin', source: `${modules}/modules.builtin` };
    if (readFileSync(`${modules}/modules.dep`, 'utf8').includes('/ublk_drv.ko'))
      return { state: 'module', source: `${modules}/modules.dep` };
    return { state: 'absent', source: `${modules}/modules.dep` };
  } catch {
    return { state: 'unknown', source: 'no kernel config or module list' };
  }
}

/** One line on why /dev/ublk-control is missing, and what to do. */
export function missingControlAdvice(controlPath: string, found: UblkInKernel = ublkInKernel()): string {
  if (found.state === 'absent')
    return `${controlPath} does not exist: this kernel (${release()}) was built without ublk (CONFIG_BLK_DEV_UBLK is not set, says ${found.source}), so modprobe cannot help: run tsublk in a VM whose kernel has it (npm run vm -- npx tsublk …)`;
  if (found.state === 'builtin')
    return `${controlPath} does not exist though ublk is built into this kernel (${found.source}): is devtmpfs mounted on /dev?`;
  return `${controlPath} does not exist: ublk_drv is not loaded (run: modprobe ublk_drv)`;
}
