import {
  type StatsFs,
  closeSync,
  constants as fsConstants,
  existsSync,
  fstatSync,
  openSync,
  rmSync,
  statfsSync,
} from 'node:fs';
import path from 'node:path';
import {
  FALLOC_FL,
  LOCK,
  MAP,
  type Mapping,
  PROT,
  fallocate,
  flock,
  ftruncate,
  mmap,
  munmap,
} from '../../native-bindings/libc.js';
import { UserError } from '../errors.js';
import { filesystemTypeOf } from './mount-of.js';

/** statfs f_type of tmpfs: memory, where flushing has nothing to make durable. */
const TMPFS_MAGIC = 0x01021994;

/**
 * The one line for a store whose filesystem refused a shared mapping (9p without cache=mmap, some
 * FUSE filesystems): the memory target serves from that mapping, so it needs another place.
 */
export function unmappableStore(where: string, filesystem: string, code: string): UserError {
  return new UserError(
    `${where} is on a filesystem (${filesystem}) that cannot map a file shared (mmap: ${code}): put --backing on a local filesystem (ext4, xfs, btrfs, tmpfs), or serve the file with -t loop`,
  );
}

/** A memory target's store: a file mapped shared, sparse (only written ranges take memory). */
export interface Backing {
  readonly path: string;
  readonly fd: number;
  /** Where the whole file is mapped (MAP_SHARED): user copy moves data straight to and from it. */
  readonly address: number;
  readonly sizeBytes: number;
  /**
   * How much address space the mapping spans from `address`: the file's size and room to grow
   * (resize). Only the file's own bytes are ever touched: the kernel keeps requests inside the disk.
   */
  readonly mappedBytes: number;
  /** tsublk made it (the /dev/shm default) and removes it with the device. */
  readonly owned: boolean;
  /** On a filesystem that outlives memory (not tmpfs): FLUSH and FUA must reach it. */
  readonly persistent: boolean;
}

export interface OpenBacking {
  readonly backing: Backing;
  close(deleted: boolean): void;
  /**
   * Makes the store `sizeBytes` long (tsublk resize), before the kernel's capacity changes. A
   * grow extends the file (sparse) inside the mapped room. A shrink punches the tail out (its
   * memory goes back at once) but truncates the file only at close: a request still in flight
   * past the new end must find mapped file pages, not SIGBUS. Returns the backing as it now is.
   */
  resize(sizeBytes: number): Backing;
}

/**
 * The address space mapped for a store of `sizeBytes`: room to grow to 4x, at least 64 GiB, at
 * most 16 TiB (of the 128 TiB a process has; MAP_NORESERVE, so only written pages cost memory).
 */
export function mappedRoom(sizeBytes: number): number {
  return Math.max(sizeBytes, Math.min(Math.max(4 * sizeBytes, 2 ** 36), 2 ** 44));
}

function bytes(n: number): string {
  return n >= 2 ** 30 ? `${+(n / 2 ** 30).toFixed(2)} GiB` : `${+(n / 2 ** 20).toFixed(2)} MiB`;
}

/** Refuses a store larger than its filesystem can ever hold (`fix`: what to do instead); the filesystem's statfs. */
function checkRoom(where: string, sizeBytes: number, fix: string): StatsFs {
  const fs = statfsSync(path.dirname(where));
  const capacity = fs.bsize * fs.blocks;
  if (sizeBytes > capacity)
    throw new UserError(
      `${bytes(sizeBytes)} is more than ${path.dirname(where)} can ever hold (${bytes(capacity)}): ${fix}`,
    );
  return fs;
}

/**
 * Opens (or creates) a device's backing store and locks it against a second device: `file` is a
 * user's --backing (kept), or null for /dev/shm/`ownedName` (made fresh, removed on delete).
 * `sizeBytes` 0 takes an existing file's size. Every refusal is one line naming the fix, and
 * leaves nothing it created behind.
 */
export function openBacking(
  file: string | null,
  sizeBytes: number,
  devId: number,
  reattach: { readonly owned: boolean } | null = null,
  ownedName = `tsublk-${devId}`,
): OpenBacking {
  const owned = reattach?.owned ?? file === null;
  const where = file === null ? `/dev/shm/${ownedName}` : path.resolve(file);
  const existed = existsSync(where);
  if (reattach !== null && !existed)
    throw new UserError(
      `${where} is gone, and with it the device's data: nothing to recover; delete the device with tsublk del -n ${devId}`,
    );
  if (!existed && sizeBytes === 0)
    throw new UserError(`${where} does not exist, so it has no size to take: add --size`);
  const fs = checkRoom(where, sizeBytes, `use a smaller --size${owned ? ', or --backing on a larger filesystem' : ''}`);
  let fd = -1;
  let mapping: Mapping;
  try {
    // Create if missing, never truncate here (another device may hold it), never O_APPEND.
    fd = openSync(where, fsConstants.O_RDWR | fsConstants.O_CREAT, 0o600); // libuv adds O_CLOEXEC;
    try {
      flock(fd, LOCK.EX | LOCK.NB);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'EAGAIN' || code === 'EWOULDBLOCK')
        throw new UserError(
          `${where} is in use by another tsublk device: pick another --backing, or delete that device first`,
        );
      throw error;
    }
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new UserError(`${where} is not a regular file: give --backing a file path`);
    if (reattach !== null) {
      // Recovery: the dead daemon's store, exactly as it left it (longer after a shrink, whose
      // tail the dead daemon had punched out but not yet truncated).
      if (stat.size < sizeBytes)
        throw new UserError(
          `${where} is ${stat.size} bytes, not the device's ${sizeBytes}: it was changed; delete the device with tsublk del -n ${devId}`,
        );
    } else if (owned) {
      ftruncate(fd, 0); // a new device starts all zeros, whatever a dead one left here
      ftruncate(fd, sizeBytes);
    } else if (!existed) {
      ftruncate(fd, sizeBytes); // sparse: no memory or disk is used until written
    } else if (sizeBytes === 0) {
      sizeBytes = stat.size;
      if (sizeBytes === 0) throw new UserError(`${where} is empty: add --size to give it one`);
    } else if (stat.size !== sizeBytes) {
      throw new UserError(
        `${where} is ${stat.size} bytes but the device would be ${sizeBytes}: use --size ${stat.size}, or another file`,
      );
    }
    try {
      mapping = mmap(mappedRoom(sizeBytes), PROT.READ | PROT.WRITE, MAP.SHARED | MAP.NORESERVE, fd, 0, where);
    } catch (error) {
      // Our length and flags are valid for any file that can be mapped: the filesystem refused.
      const code = (error as { code?: string }).code;
      if (code === 'EINVAL' || code === 'ENODEV')
        throw unmappableStore(where, filesystemTypeOf(where) ?? 'unknown', code);
      throw error;
    }
  } catch (error) {
    if (fd >= 0) closeSync(fd);
    if (!existed && reattach === null) rmSync(where, { force: true });
    throw error;
  }
  let backing: Backing = {
    path: where,
    fd,
    address: mapping.address,
    sizeBytes,
    mappedBytes: mapping.length,
    owned,
    persistent: fs.type !== TMPFS_MAGIC,
  };
  const map = mapping;
  let closed = false;
  return {
    get backing(): Backing {
      return backing;
    },
    close(deleted: boolean): void {
      if (closed) return;
      closed = true;
      munmap(map);
      // The queues are gone: a shrunk store's file becomes as long as the disk.
      if (!(deleted && owned) && fstatSync(fd).size > backing.sizeBytes) ftruncate(fd, backing.sizeBytes);
      closeSync(fd); // drops the lock
      if (deleted && owned) rmSync(where, { force: true });
    },
    resize(newBytes: number): Backing {
      if (newBytes > backing.mappedBytes)
        throw new UserError(
          `${bytes(newBytes)} is more than this daemon mapped for the store (${bytes(backing.mappedBytes)}: 4x its size when it started): resize to at most that, or in steps with a recover between them`,
        );
      checkRoom(where, newBytes, 'resize to less');
      const fileBytes = fstatSync(fd).size;
      if (newBytes > fileBytes)
        ftruncate(fd, newBytes); // sparse: no memory until written
      else if (newBytes < backing.sizeBytes)
        fallocate(fd, FALLOC_FL.PUNCH_HOLE | FALLOC_FL.KEEP_SIZE, newBytes, backing.sizeBytes - newBytes);
      backing = { ...backing, sizeBytes: newBytes };
      return backing;
    },
  };
}
