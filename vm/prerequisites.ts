import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readSync } from 'node:fs';
import { VmError, findExecutable } from './host-tools.js';

/** A host program the VM harness needs, and the Debian package that provides it. */
interface HostTool {
  readonly program: string;
  readonly debianPackage: string;
  /** Extra check beyond "is on PATH" (busybox must be static: it runs alone in the initramfs). */
  readonly usable?: (path: string) => boolean;
}

export const vmHostTools: readonly HostTool[] = [
  { program: 'qemu-system-x86_64', debianPackage: 'qemu-system-x86' },
  { program: 'busybox', debianPackage: 'busybox-static', usable: isStaticElf },
  { program: 'xz', debianPackage: 'xz-utils' },
  { program: 'depmod', debianPackage: 'kmod' },
  { program: 'dpkg-deb', debianPackage: 'dpkg' },
  { program: 'apt-get', debianPackage: 'apt' },
  { program: 'mkfifo', debianPackage: 'coreutils' },
];

/** True when an ELF file has no program interpreter, i.e. it needs no shared libraries. */
export function isStaticElf(file: string): boolean {
  const header = Buffer.alloc(64);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, header, 0, 64, 0);
    if (header.readUInt32BE(0) !== 0x7f454c46 || header[4] !== 2) return false; // not a 64-bit ELF
    const phoff = Number(header.readBigUInt64LE(0x20));
    const phentsize = header.readUInt16LE(0x36);
    const phnum = header.readUInt16LE(0x38);
    const table = Buffer.alloc(phentsize * phnum);
    readSync(fd, table, 0, table.length, phoff);
    const PT_INTERP = 3;
    for (let i = 0; i < phnum; i++) if (table.readUInt32LE(i * phentsize) === PT_INTERP) return false;
    return true;
  } finally {
    closeSync(fd);
  }
}

function missingTools(tools: readonly HostTool[]): HostTool[] {
  return tools.filter((tool) => {
    const found = findExecutable(tool.program);
    return found === null || (tool.usable !== undefined && !tool.usable(found));
  });
}

/**
 * Makes sure every host tool is there: as root, missing ones are installed with apt-get;
 * otherwise the error names the command that installs them.
 */
export function ensureHostTools(tools: readonly HostTool[], log: (line: string) => void): void {
  let missing = missingTools(tools);
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map((tool) => tool.debianPackage))];
  const installCommand = `apt-get install -y --no-install-recommends ${packages.join(' ')}`;
  const isRoot = process.getuid?.() === 0;
  if (!isRoot || findExecutable('apt-get') === null) {
    throw new VmError(`missing ${missing.map((t) => t.program).join(', ')}: install with: sudo ${installCommand}`);
  }
  log(`installing ${packages.join(' ')} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const apt = (args: string[]): void => {
    const result = spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env });
    if (result.status !== 0) throw new VmError(`apt-get ${args.join(' ')} failed (exit ${result.status})`);
  };
  apt(['update', '-q']);
  apt(['install', '-y', '-q', '--no-install-recommends', ...packages]);
  missing = missingTools(tools);
  if (missing.length > 0) throw new VmError(`still missing after apt-get: ${missing.map((t) => t.program).join(', ')}`);
}
