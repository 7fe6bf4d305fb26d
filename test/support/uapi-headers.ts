import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { DebianArchive } from '../../vm/debian-archive.js';
import { runTool } from '../../vm/host-tools.js';
import { projectRoot } from '../../vm/paths.js';

/**
 * The kernel UAPI headers of a Debian suite (its linux-libc-dev), downloaded once through a
 * private apt configuration and cached in .cache/uapi/<suite>. Returns the extracted root, with
 * usr/include and usr/include/x86_64-linux-gnu inside. The host's own headers (6.1) lack ublk.
 */
export function uapiHeaders(suite: 'trixie' | 'sid'): string {
  const cache = path.join(projectRoot(), '.cache');
  const root = path.join(cache, 'uapi', suite);
  if (existsSync(path.join(root, 'usr', 'include', 'linux', 'ublk_cmd.h'))) return root;
  const archive = new DebianArchive(suite, path.join(cache, 'vm', 'apt', suite));
  const downloads = path.join(cache, 'uapi', `${suite}.debs`);
  rmSync(downloads, { recursive: true, force: true });
  try {
    archive.download(['linux-libc-dev'], downloads);
  } catch {
    // No package lists yet, or stale ones naming a version the mirror has dropped.
    archive.update();
    archive.download(['linux-libc-dev'], downloads);
  }
  const staging = `${root}.partial`;
  rmSync(staging, { recursive: true, force: true });
  for (const deb of readdirSync(downloads)) runTool('dpkg-deb', ['-x', path.join(downloads, deb), staging]);
  rmSync(downloads, { recursive: true });
  mkdirSync(path.dirname(root), { recursive: true });
  rmSync(root, { recursive: true, force: true });
  renameSync(staging, root);
  return root;
}
