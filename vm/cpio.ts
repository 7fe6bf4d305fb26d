/**
 * A writer for the "newc" cpio format, the one the kernel unpacks as an initramfs
 * (Documentation/driver-api/early-userspace/buffer-format.rst). Writing it here instead of calling
 * cpio(1) lets an unprivileged user build the image, with fixed owners and times (reproducible).
 */
export type CpioEntry =
  | { readonly kind: 'directory'; readonly path: string; readonly mode?: number }
  | { readonly kind: 'file'; readonly path: string; readonly data: Buffer; readonly mode?: number }
  | { readonly kind: 'symlink'; readonly path: string; readonly target: string };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

function hex8(value: number): string {
  return value.toString(16).padStart(8, '0');
}

function padding(length: number): Buffer {
  return Buffer.alloc((4 - (length % 4)) % 4);
}

function record(ino: number, mode: number, name: string, data: Buffer): Buffer[] {
  const nameBytes = Buffer.from(name + '\0', 'utf8');
  const fields = [
    ino,
    mode,
    0,
    0,
    (mode & S_IFDIR) === S_IFDIR ? 2 : 1,
    0,
    data.length,
    0,
    0,
    0,
    0,
    nameBytes.length,
    0,
  ];
  const header = Buffer.from('070701' + fields.map(hex8).join(''), 'ascii');
  return [header, nameBytes, padding(header.length + nameBytes.length), data, padding(data.length)];
}

/** Serialises entries, in order (a directory must come before what it holds), plus the trailer. */
export function writeCpio(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  entries.forEach((entry, index) => {
    const name = entry.path.replace(/^\/+/, '');
    switch (entry.kind) {
      case 'directory':
        parts.push(...record(index + 1, S_IFDIR | (entry.mode ?? 0o755), name, Buffer.alloc(0)));
        break;
      case 'file':
        parts.push(...record(index + 1, S_IFREG | (entry.mode ?? 0o644), name, entry.data));
        break;
      case 'symlink':
        parts.push(...record(index + 1, S_IFLNK | 0o777, name, Buffer.from(entry.target, 'utf8')));
        break;
    }
  });
  parts.push(...record(0, 0, 'TRAILER!!!', Buffer.alloc(0)));
  return Buffer.concat(parts);
}
