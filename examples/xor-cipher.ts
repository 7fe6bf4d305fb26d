// An encrypting disk over a backing file: every byte is stored XORed with a key stream that
// depends on its position, so the file holds no plaintext and reads give it back. A teaching
// example of transforming data in flight, NOT cryptography (XOR with a repeating key is easily
// broken): writes are transformed in the request's buffer before the file write, reads after
// the file read, both through the queue's io_uring (QueueIo).
//   sudo tsublk add -t ./dist/examples/xor-cipher.js --file secret.img --key 'a passphrase'
import { closeSync, existsSync, openSync, statSync } from 'node:fs';
import path from 'node:path';
import { type QueueIo, type Request, type Target, UserError } from 'tsublk';

interface CipherConfig {
  readonly sizeBytes: number;
  readonly logicalBlockSize: number;
  readonly file: string;
  readonly key: string;
  /** Set by open in the daemon, for its queue threads: the file's fd. */
  readonly fd?: number;
}

class CipherQueue {
  constructor(
    readonly io: QueueIo,
    readonly fd: number,
    readonly key: Uint8Array,
  ) {}
}

const READ = 0;
const WRITE = 1;
const FLUSH = 2;
const EIO = 5;
const EOPNOTSUPP = 95;

/** XORs the request's first `length` bytes with the key stream at disk byte `position`, in place. */
function xorInPlace(rq: Request<undefined>, key: Uint8Array, position: number, length: number): void {
  const data = rq.buffer;
  let k = position % key.length;
  for (let i = 0; i < length; i++) {
    data[i] = (data[i] ?? 0) ^ (key[k] ?? 0);
    if (++k === key.length) k = 0;
  }
}

const target: Target<CipherConfig, CipherConfig, undefined, CipherQueue, undefined> = {
  name: 'xor-cipher',
  type: 102,
  options: [
    {
      name: 'file',
      kind: 'string',
      describe: 'the backing file (holds only ciphertext)',
      valid: (v) => v !== '',
      fix: 'name it: --file secret.img',
    },
    {
      name: 'key',
      kind: 'string',
      describe: 'the key (8 characters or more)',
      valid: (v) => String(v).length >= 8,
      fix: 'give --key 8 characters or more',
    },
  ],
  plan(values, common) {
    if (values['file'] === undefined || values['key'] === undefined)
      throw new UserError('the xor-cipher target needs --file FILE and --key KEY');
    const file = path.resolve(String(values['file']));
    if (!existsSync(file) || !statSync(file).isFile())
      throw new UserError(`${file} is not a file: give --file an existing regular file`);
    const sizeBytes =
      common.sizeBytes ?? Math.floor(statSync(file).size / common.logicalBlockSize) * common.logicalBlockSize;
    return {
      config: { sizeBytes, logicalBlockSize: common.logicalBlockSize, file, key: String(values['key']) },
      dataPath: 'copy',
    };
  },
  open(config) {
    const fd = openSync(config.file, 'r+');
    return { config: { ...config, fd }, ownedFiles: [], close: () => closeSync(fd) };
  },
  disk: (config) => ({ sizeBytes: config.sizeBytes, logicalBlockSize: config.logicalBlockSize, volatileCache: true }),
  tagSetData: (config) => config,
  queueData: () => undefined,
  operations: {
    newRequestData: () => undefined,
    initHctx: (config, _queue, io) => new CipherQueue(io, config.fd ?? -1, new TextEncoder().encode(config.key)),
    exitHctx: () => undefined,
    queueRq(hw, _queueData, rq) {
      const position = rq.startSector * 512;
      if (rq.op === READ) hw.io.readIntoRequest(rq, hw.fd, rq.bytes, position, 0);
      else if (rq.op === WRITE) {
        xorInPlace(rq, hw.key, position, rq.bytes); // the kernel copied the data in: ours to change
        hw.io.writeFromRequest(rq, hw.fd, rq.bytes, position, 0, false);
      } else if (rq.op === FLUSH) hw.io.syncFile(rq, hw.fd, true);
      else rq.end(-EOPNOTSUPP);
    },
    complete(rq, hw) {
      if (rq.ioResult < 0) return rq.end(rq.ioResult);
      if (rq.op === FLUSH) return rq.end(0);
      if (rq.ioResult !== rq.bytes) return rq.end(-EIO);
      if (rq.op === READ) xorInPlace(rq, hw.key, rq.startSector * 512, rq.bytes); // back to plaintext
      rq.end(rq.bytes);
    },
  },
};

export default target;
