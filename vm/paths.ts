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

/**
 * Where downloaded kernels and built initramfs images are kept: the user's cache (every clone
 * shares one download), or the checkout's git-ignored .cache/vm when there is no home.
 */
export function vmCacheDir(): string {
  const override = process.env['TSUBLK_VM_CACHE'];
  if (override !== undefined && override !== '') return override;
  const xdg = process.env['XDG_CACHE_HOME'];
  const home = process.env['HOME'];
  const base =
    xdg !== undefined && xdg !== '' ? xdg : home !== undefined && home !== '' ? path.join(home, '.cache') : null;
  return base === null ? path.join(projectRoot(), '.cache', 'vm') : path.join(base, 'tsublk', 'vm');
}

/** The scripts that run inside the guest. */
export function guestScriptsDir(): string {
  return path.join(projectRoot(), 'vm', 'guest');
}
