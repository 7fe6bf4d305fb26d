import { closeSync, constants as fs, fstatSync, openSync, readFileSync } from 'node:fs';
import { LOCK, flock, ftruncate } from '../../../native-bindings/libc.js';
import { UserError } from '../../errors.js';
import type { LoopConfig } from './config.js';

/** An open backing: the completed configuration (with the fd) and how to let it go. */
export interface OpenLoopBacking {
  readonly config: LoopConfig;
  close(): void;
}

/** A number from a sysfs file of the block device `major:minor` (or its whole disk, for a partition); null when there is none. */
function sysfsNumber(major: number, minor: number, name: string): number | null {
  for (const dir of [`/sys/dev/block/${major}:${minor}`, `/sys/dev/block/${major}:${minor}/..`]) {
    try {
      return Number(readFileSync(`${dir}/${name}`, 'utf8').trim());
    } catch {
      // Not here: a partition keeps its queue in the whole disk's folder.
    }
  }
  return null;
}

/** Linux's dev_t split (glibc's gnu_dev_major/minor), for the numbers Node's stat gives. */
function majorMinor(dev: number): [number, number] {
  const high = Math.floor(dev / 2 ** 32);
  const low = dev >>> 0;
  return [((low >>> 8) & 0xfff) | ((high & 0xfffff000) >>> 0), (low & 0xff) | ((low >>> 12) & 0xfff00)];
}

/** The errno name of a failed fs call, or ''. */
function code(error: unknown): string {
  return (error as { code?: string }).code ?? '';
}

/**
 * Opens the loop target's file in the daemon: checks it, locks it against a second device, picks
 * O_DIRECT where the filesystem has it, and completes the configuration (size, block size,
 * discard). `recorded`: the device is being recovered, and the file must be as it was. Every
 * refusal is one line naming the fix.
 */
export function openLoopBacking(config: LoopConfig, devId: number, recorded: boolean): OpenLoopBacking {
  const file = config.file;
  const access = config.readOnly ? fs.O_RDONLY : fs.O_RDWR;
  let fd: number;
  let directIo = !config.bufferedIo;
  try {
    try {
      fd = openSync(file, access | (directIo ? fs.O_DIRECT : 0)); // libuv adds O_CLOEXEC
    } catch (error) {
      if (code(error) === 'EINVAL' && directIo) {
        directIo = false; // this filesystem has no O_DIRECT: the page cache serves
        fd = openSync(file, access);
      } else throw error;
    }
  } catch (error) {
    const why = code(error);
    if (why === 'ENOENT')
      throw new UserError(
        `${file} does not exist${recorded ? `, and with it the device's data: delete the device with tsublk del -n ${devId}` : ': give -f an existing file or block device'}`,
        'not-found',
      );
    if (why === 'EISDIR') throw new UserError(`${file} is a directory: give -f a regular file or a block device`);
    if ((why === 'EACCES' || why === 'EROFS' || why === 'EPERM') && !config.readOnly) {
      let readable = false;
      try {
        closeSync(openSync(file, fs.O_RDONLY));
        readable = true;
      } catch {
        // Not even for reading.
      }
      if (readable)
        throw new UserError(`${file} is read-only (${why}): add --read_only to serve it as a read-only disk`);
    }
    if (why === 'EACCES' || why === 'EPERM')
      throw new UserError(
        `the daemon (uid ${process.geteuid?.() ?? '?'}) may not open ${file} (${why}): give it access, or serve a file it may open`,
      );
    if (why === 'EBUSY')
      throw new UserError(
        `${file} is in use (mounted, or held by another driver): unmount it or pick another`,
        'in-use',
      );
    throw error;
  }
  try {
    try {
      flock(fd, LOCK.EX | LOCK.NB);
    } catch (error) {
      if (code(error) === 'EAGAIN' || code(error) === 'EWOULDBLOCK')
        throw new UserError(
          `${file} is served by another tsublk device: pick another file, or delete that device first`,
          'in-use',
        );
      throw error;
    }
    const stat = fstatSync(fd);
    const blockDevice = stat.isBlockDevice();
    if (!blockDevice && !stat.isFile())
      throw new UserError(`${file} is neither a regular file nor a block device: give -f one of those`);
    const [major, minor] = majorMinor(blockDevice ? stat.rdev : stat.dev);
    // A block device's own size; a file's from its inode.
    const fileBytes = blockDevice ? (sysfsNumber(major, minor, 'size') ?? 0) * 512 : stat.size;
    // O_DIRECT needs the device's logical block size; a file follows the device under its filesystem.
    const backingBlock = major === 0 ? 512 : (sysfsNumber(major, minor, 'queue/logical_block_size') ?? 512);
    let logicalBlockSize = config.logicalBlockSize;
    if (!config.blockSizeGiven && !recorded) logicalBlockSize = Math.min(4096, Math.max(512, backingBlock));
    if (directIo && logicalBlockSize < backingBlock) {
      throw new UserError(
        `--bs ${logicalBlockSize} is smaller than ${file}'s block size (${backingBlock}), which O_DIRECT needs: use --bs ${backingBlock}, or --buffered_io`,
      );
    }
    if (config.offset % logicalBlockSize !== 0)
      throw new UserError(
        `--offset ${config.offset} is not a multiple of the block size (${logicalBlockSize}): use a multiple of it`,
      );
    if (config.offset >= fileBytes && fileBytes > 0)
      throw new UserError(
        `--offset ${config.offset} is at or past the end of ${file} (${fileBytes} bytes): use a smaller one`,
      );
    const room = fileBytes - config.offset;
    let sizeBytes = config.sizeBytes;
    if (sizeBytes === 0) {
      sizeBytes = Math.floor(room / logicalBlockSize) * logicalBlockSize;
      if (sizeBytes === 0)
        throw new UserError(
          `${file} holds no whole block${config.offset > 0 ? ` past --offset ${config.offset}` : ''} (${fileBytes} bytes): give a larger file`,
        );
    } else if (sizeBytes > room) {
      if (recorded)
        throw new UserError(
          `${file} is ${fileBytes} bytes now, too small for the device's ${sizeBytes}: it was changed; delete the device with tsublk del -n ${devId}`,
        );
      throw new UserError(
        `--size ${sizeBytes} is larger than ${file} (${room} bytes${config.offset > 0 ? ` past --offset ${config.offset}` : ''}): leave --size out to use the whole file, or give a smaller one`,
      );
    }
    // Discard: a file punches holes; a block device zeroes where it can (as the C loop target).
    const discard = config.readOnly
      ? false
      : blockDevice
        ? (sysfsNumber(major, minor, 'queue/write_zeroes_max_bytes') ?? 0) > 0
        : true;
    const opened = fd;
    return {
      config: { ...config, sizeBytes, logicalBlockSize, directIo, blockDevice, discard, runtime: { fd } },
      close: () => closeSync(opened), // drops the lock
    };
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/**
 * `tsublk resize` of a loop device: a grow past the file's end extends the file (sparse); a
 * shrink that would leave the file longer than the disk cuts it only with `truncate` (what lies
 * past the new end is lost), else is refused. A block device's size is its own: refused.
 */
export function resizeLoopBacking(config: LoopConfig, sizeBytes: number, truncate: boolean): LoopConfig {
  const fd = config.runtime?.fd;
  if (fd === undefined) throw new Error('loop target: resize before the file was opened');
  if (config.blockDevice === true)
    throw new UserError(
      `${config.file} is a block device, whose size is its own: a loop device on it cannot be resized`,
    );
  if (config.readOnly) throw new UserError(`the device serves ${config.file} read-only: it cannot be resized`);
  const fileBytes = fstatSync(fd).size;
  const end = config.offset + sizeBytes;
  if (end > fileBytes) ftruncate(fd, end);
  else if (sizeBytes < config.sizeBytes && end < fileBytes) {
    if (!truncate)
      throw new UserError(
        `${config.file} is ${fileBytes} bytes: a ${sizeBytes}-byte disk${config.offset > 0 ? ` at --offset ${config.offset}` : ''} would leave ${fileBytes - end} of them unserved: add --truncate to cut the file there (what lies past it is lost)`,
      );
    ftruncate(fd, end);
  }
  return { ...config, sizeBytes };
}
