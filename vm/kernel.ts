import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { DebianArchive } from './debian-archive.js';
import { VmError, runTool } from './host-tools.js';

/** A kernel the VM can boot, with its modules tree when there is one. */
export interface GuestKernel {
  /** `uname -r` of the kernel. */
  readonly release: string;
  readonly vmlinuz: string;
  /** The `lib/modules/<release>` folder (with modules.dep), or null when only built-ins exist. */
  readonly modulesDir: string | null;
  /** Where it came from: a Debian suite name or the path given. */
  readonly origin: string;
}

/** The Debian suites the harness knows how to unpack (their kernel package layouts differ). */
export const debianSuites = ['trixie', 'sid'] as const;
export type DebianSuite = (typeof debianSuites)[number];

/** Resolves `--kernel`: a Debian suite (downloaded once, then cached) or a path to a vmlinuz. */
export function resolveKernel(spec: string, cacheDir: string, log: (line: string) => void): GuestKernel {
  if (spec.includes('/')) return localKernel(spec);
  if (spec === 'bookworm')
    throw new VmError("--kernel bookworm: Debian bookworm's 6.1 kernel is built without ublk; use trixie or sid");
  if (!(debianSuites as readonly string[]).includes(spec)) {
    throw new VmError(`--kernel ${spec}: unknown kernel; use trixie, sid or a path to a vmlinuz`);
  }
  return debianKernel(spec as DebianSuite, cacheDir, log);
}

/** Reads the release string a bzImage carries in its setup header (boot protocol ≥ 2.00). */
export function bzImageRelease(vmlinuz: string): string {
  const fd = openSync(vmlinuz, 'r');
  try {
    const header = Buffer.alloc(0x210);
    readSync(fd, header, 0, header.length, 0);
    if (header.toString('latin1', 0x202, 0x206) !== 'HdrS') throw new VmError(`${vmlinuz} is not a bzImage kernel`);
    const versionOffset = header.readUInt16LE(0x20e) + 0x200;
    const text = Buffer.alloc(256);
    readSync(fd, text, 0, text.length, versionOffset);
    const release = text.toString('latin1').split(/[\s\0]/)[0] ?? '';
    if (release === '') throw new VmError(`${vmlinuz} has no kernel version string`);
    return release;
  } finally {
    closeSync(fd);
  }
}

function localKernel(vmlinuz: string): GuestKernel {
  const file = path.resolve(vmlinuz);
  if (!existsSync(file)) throw new VmError(`--kernel ${vmlinuz}: no such file`);
  const release = bzImageRelease(file);
  const dir = path.dirname(file);
  // Debian's sid layout keeps vmlinuz inside its modules folder; others keep modules beside /boot.
  const candidates = [
    dir,
    path.join(dir, '..', 'lib', 'modules', release),
    path.join(dir, '..', 'usr', 'lib', 'modules', release),
    path.join('/lib/modules', release),
  ];
  const modulesDir = candidates.find((d) => existsSync(path.join(d, 'modules.dep'))) ?? null;
  return { release, vmlinuz: file, modulesDir, origin: file };
}

interface CachedKernel {
  readonly release: string;
  readonly vmlinuz: string;
  readonly modulesDir: string;
}

function debianKernel(suite: DebianSuite, cacheDir: string, log: (line: string) => void): GuestKernel {
  const record = path.join(cacheDir, 'kernels', `${suite}.json`);
  if (existsSync(record)) {
    const cached = JSON.parse(readFileSync(record, 'utf8')) as CachedKernel;
    // Paths are kept relative to the cache, so a moved or copied cache stays valid.
    const kernel = {
      release: cached.release,
      vmlinuz: path.join(cacheDir, cached.vmlinuz),
      modulesDir: path.join(cacheDir, cached.modulesDir),
      origin: suite,
    };
    if (existsSync(kernel.vmlinuz) && existsSync(path.join(kernel.modulesDir, 'modules.dep'))) return kernel;
  }
  log(`downloading Debian ${suite}'s kernel (once; cached in ${cacheDir})`);
  const archive = new DebianArchive(suite, path.join(cacheDir, 'apt', suite));
  archive.update();
  const imagePackage = archive.dependencies('linux-image-amd64').find((p) => /^linux-image-\d.*-amd64$/.test(p));
  if (imagePackage === undefined) throw new VmError(`Debian ${suite}: linux-image-amd64 names no kernel package`);
  const release = imagePackage.slice('linux-image-'.length);
  // sid (7.x) splits the kernel into linux-binary-VER and linux-modules-VER under a meta package.
  const imageDepends = archive.dependencies(imagePackage);
  const packages = imageDepends.includes(`linux-binary-${release}`)
    ? [`linux-binary-${release}`, `linux-modules-${release}`]
    : [imagePackage];

  const root = path.join(cacheDir, 'kernels', release);
  const staging = `${root}.partial`;
  rmSync(staging, { recursive: true, force: true });
  const downloads = path.join(staging, 'debs');
  for (const deb of archive.download(packages, downloads)) runTool('dpkg-deb', ['-x', deb, staging]);
  rmSync(downloads, { recursive: true });

  const usrModules = path.join('usr', 'lib', 'modules', release);
  const modulesRelative = existsSync(path.join(staging, usrModules))
    ? usrModules
    : path.join('lib', 'modules', release);
  const vmlinuzRelative = [path.join('boot', `vmlinuz-${release}`), path.join(modulesRelative, 'vmlinuz')].find((f) =>
    existsSync(path.join(staging, f)),
  );
  if (vmlinuzRelative === undefined) throw new VmError(`Debian ${suite}: no vmlinuz in ${packages.join(', ')}`);
  // Debian's packages ship no modules.dep; depmod -b BASE looks in BASE/lib/modules/RELEASE.
  runTool('depmod', ['-b', path.join(staging, path.dirname(path.dirname(path.dirname(modulesRelative)))), release]);

  rmSync(root, { recursive: true, force: true });
  renameSync(staging, root);
  const rootRelative = path.relative(cacheDir, root);
  const cached: CachedKernel = {
    release,
    vmlinuz: path.join(rootRelative, vmlinuzRelative),
    modulesDir: path.join(rootRelative, modulesRelative),
  };
  mkdirSync(path.dirname(record), { recursive: true });
  writeFileSync(record, JSON.stringify(cached, null, 2) + '\n');
  log(`cached ${suite}'s kernel ${release}`);
  return {
    release,
    vmlinuz: path.join(root, vmlinuzRelative),
    modulesDir: path.join(root, modulesRelative),
    origin: suite,
  };
}
