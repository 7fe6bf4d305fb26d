import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { type CpioEntry, writeCpio } from './cpio.js';
import { VmError, findExecutable, runToolBytes } from './host-tools.js';
import type { GuestKernel } from './kernel.js';
import { guestScriptsDir } from './paths.js';

/** What the first stage needs before it can mount anything: 9p over virtio and overlayfs. */
const bootModules = ['9pnet_virtio', '9p', 'overlay'];

/**
 * The modules to insmod, in load order, for `wanted` and everything they depend on, read from
 * modules.dep. A module absent from modules.dep is built into the kernel and needs no loading.
 */
export function moduleLoadOrder(modulesDep: string, wanted: readonly string[]): string[] {
  const depsOf = new Map<string, string[]>();
  const pathOf = new Map<string, string>();
  for (const line of modulesDep.split('\n')) {
    const [module, deps] = line.split(':');
    if (module === undefined || deps === undefined) continue;
    pathOf.set(moduleName(module), module);
    depsOf.set(module, deps.trim().split(/\s+/).filter(Boolean));
  }
  const order: string[] = [];
  const visit = (modulePath: string): void => {
    if (order.includes(modulePath)) return;
    // modules.dep lists a module's whole dependency closure, deepest last; load deepest first.
    for (const dep of [...(depsOf.get(modulePath) ?? [])].reverse()) visit(dep);
    if (!order.includes(modulePath)) order.push(modulePath);
  };
  for (const name of wanted) {
    const modulePath = pathOf.get(name);
    if (modulePath !== undefined) visit(modulePath);
  }
  return order;
}

/** `kernel/fs/9p/9p.ko.xz` → `9p` (dashes and underscores are one in module names). */
export function moduleName(modulePath: string): string {
  return path
    .basename(modulePath)
    .replace(/\.ko(\.(xz|zst|gz))?$/, '')
    .replace(/-/g, '_');
}

function decompressModule(file: string): Buffer {
  if (file.endsWith('.ko')) return readFileSync(file);
  if (file.endsWith('.ko.xz')) return runToolBytes('xz', ['-dc', file]);
  if (file.endsWith('.ko.zst')) return runToolBytes('zstd', ['-dcq', file]);
  if (file.endsWith('.ko.gz')) return runToolBytes('gzip', ['-dc', file]);
  throw new VmError(`cannot decompress kernel module ${file}`);
}

/** Builds (or reuses from the cache) the initramfs for a kernel: busybox, the boot modules, init. */
export function buildInitramfs(kernel: GuestKernel, cacheDir: string): string {
  const busybox = findExecutable('busybox');
  if (busybox === null) throw new VmError('busybox is missing');
  const init = readFileSync(path.join(guestScriptsDir(), 'init.sh'));
  const modulesDep =
    kernel.modulesDir === null ? '' : readFileSync(path.join(kernel.modulesDir, 'modules.dep'), 'utf8');
  const modules = moduleLoadOrder(modulesDep, bootModules);
  const busyboxBytes = readFileSync(busybox);

  const key = createHash('sha256')
    .update(init)
    .update(busyboxBytes)
    .update(kernel.release)
    .update(modules.join('\n'))
    .digest('hex')
    .slice(0, 16);
  const image = path.join(cacheDir, 'initramfs', `${kernel.release}-${key}.cpio.gz`);
  if (existsSync(image)) return image;

  const entries: CpioEntry[] = [
    ...['bin', 'dev', 'proc', 'sys', 'modules', 'lower', 'upper', 'newroot'].map((dir): CpioEntry => ({
      kind: 'directory',
      path: dir,
    })),
    { kind: 'file', path: 'bin/busybox', data: busyboxBytes, mode: 0o755 },
    { kind: 'symlink', path: 'bin/sh', target: 'busybox' },
    { kind: 'file', path: 'init', data: init, mode: 0o755 },
    {
      kind: 'file',
      path: 'modules.list',
      data: Buffer.from(modules.map((m) => moduleName(m) + '.ko').join('\n') + '\n'),
    },
  ];
  for (const modulePath of modules) {
    const file = path.join(kernel.modulesDir ?? '', modulePath);
    entries.push({ kind: 'file', path: `modules/${moduleName(modulePath)}.ko`, data: decompressModule(file) });
  }
  mkdirSync(path.dirname(image), { recursive: true });
  writeFileSync(`${image}.partial`, gzipSync(writeCpio(entries)));
  renameSync(`${image}.partial`, image);
  return image;
}
