import { readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';

/** A path in /proc/self/mountinfo: octal escapes (\040 for a space) undone. */
function unescapeMountPath(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_match, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

/**
 * The type of the filesystem `file` is on (`ext4`, `9p`, `nfs4`, `fuse.sshfs`), from the mount
 * with the longest mount point above it in `mountinfo`; null when none matches. statfs cannot
 * say it: 9p reports the host filesystem's f_type, not its own.
 */
export function filesystemTypeOf(
  file: string,
  mountinfo = readFileSync('/proc/self/mountinfo', 'utf8'),
): string | null {
  let where: string;
  try {
    where = realpathSync(file);
  } catch {
    where = path.resolve(file);
  }
  let best: { point: string; type: string } | null = null;
  for (const line of mountinfo.split('\n')) {
    // id parent major:minor root mount-point options [optional fields...] - type source super-options
    const fields = line.split(' ');
    const separator = fields.indexOf('-');
    const point = fields[4];
    const type = fields[separator + 1];
    if (separator < 0 || point === undefined || type === undefined) continue;
    const mountPoint = unescapeMountPath(point);
    const inside = mountPoint === '/' || where === mountPoint || where.startsWith(mountPoint + '/');
    // The later of two mounts on one point is on top: >= keeps it.
    if (inside && (best === null || mountPoint.length >= best.point.length)) best = { point: mountPoint, type };
  }
  return best?.type ?? null;
}
