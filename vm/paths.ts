import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The tsublk checkout this file belongs to (the folder whose package.json is named tsublk). */
export function projectRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'tsublk') {
      return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cannot find the tsublk project root above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

/** Where downloaded kernels and built initramfs images are kept (git-ignored). */
export function vmCacheDir(): string {
  return process.env['TSUBLK_VM_CACHE'] ?? path.join(projectRoot(), '.cache', 'vm');
}

/** The scripts that run inside the guest. */
export function guestScriptsDir(): string {
  return path.join(projectRoot(), 'vm', 'guest');
}
