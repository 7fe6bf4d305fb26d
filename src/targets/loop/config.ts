/** The loop target's configuration: what `add` planned, completed by `open` in the daemon (a type, so it is plain recordable data). */
export type LoopConfig = {
  /** The device's size; 0 until open: the file's size less the offset. */
  readonly sizeBytes: number;
  /** As --bs gave it, or (not given) the backing's own, found by open. */
  readonly logicalBlockSize: number;
  readonly blockSizeGiven: boolean;
  /** The file or block device, as an absolute path. */
  readonly file: string;
  /** Where in the file the disk starts, in bytes. */
  readonly offset: number;
  /** --buffered_io: page cache I/O by request. */
  readonly bufferedIo: boolean;
  readonly readOnly: boolean;
  /** Set by open: O_DIRECT is in use (false: the page cache, asked for or all the filesystem offers). */
  readonly directIo?: boolean;
  /** Set by open: a block device rather than a regular file. */
  readonly blockDevice?: boolean;
  /** Set by open: discard and write-zeroes reach the backing (a file that can punch holes, a device that zeroes). */
  readonly discard?: boolean;
  /** Set by open, for this process's queues only (never recorded): the open file. */
  readonly runtime?: { readonly fd: number };
};
