// The client side of NBD's fixed-newstyle handshake, blocking (the daemon's open and each
// queue's initHctx run it once per connection, before any I/O): connect, NBD_OPT_STRUCTURED_REPLY
// where the server has it, NBD_OPT_GO with NBD_INFO_BLOCK_SIZE, and what the server says of the export.
import { SyscallError } from '../../../native-bindings/errors.js';
import {
  AF,
  SO,
  SOCK,
  SOL,
  TCP,
  close,
  connect,
  receiveExactly,
  sendAll,
  setsockopt,
  socket,
} from '../../../native-bindings/libc.js';
import { inetSocketAddress, unixSocketAddress } from '../../../native-bindings/socket-address.js';
import { isIPv6 } from 'node:net';
import type { NbdEndpoint, NbdExport } from './config.js';
import {
  HANDSHAKE,
  IHAVEOPT_HIGH,
  IHAVEOPT_LOW,
  NBD_INFO,
  NBD_MAGIC_HIGH,
  NBD_MAGIC_LOW,
  NBD_OPT,
  NBD_REP,
  NBD_REP_ERROR,
  NBD_REP_ERROR_BIT,
  OPTION_REPLY_HIGH,
  OPTION_REPLY_LOW,
} from './protocol.js';

/** How long connecting and the handshake may take before the add fails. */
const HANDSHAKE_SECONDS = 10;
/** The longest option reply accepted (a reply names at most an export and a description). */
const MAX_OPTION_REPLY = 64 * 1024;
/** Block sizes when the server gives none (the protocol's defaults). */
const DEFAULT_BLOCKS = { minimumBlock: 1, preferredBlock: 4096, maximumBlock: 32 * 1024 * 1024 };

/** The endpoint as a user would write it, for errors. */
export function endpointName(endpoint: NbdEndpoint): string {
  if (endpoint.kind === 'unix') return `unix socket ${endpoint.path}`;
  return `${endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host}:${endpoint.port}`;
}

/** struct timeval of `seconds`, for SO_RCVTIMEO / SO_SNDTIMEO. */
function timeval(seconds: number): Uint8Array {
  const value = Buffer.alloc(16);
  value.writeUInt32LE(seconds, 0); // tv_sec (its high half and tv_usec stay 0)
  return value;
}

/** A connected stream socket to the endpoint, with the handshake's timeouts set. */
function connectSocket(endpoint: NbdEndpoint, timeoutSeconds: number): number {
  const address =
    endpoint.kind === 'unix' ? unixSocketAddress(endpoint.path) : inetSocketAddress(endpoint.ip, endpoint.port);
  const family = endpoint.kind === 'unix' ? AF.UNIX : isIPv6(endpoint.ip) ? AF.INET6 : AF.INET;
  const fd = socket(family, SOCK.STREAM);
  try {
    setsockopt(fd, SOL.SOCKET, SO.SNDTIMEO, timeval(timeoutSeconds)); // bounds connect(2) too
    setsockopt(fd, SOL.SOCKET, SO.RCVTIMEO, timeval(timeoutSeconds));
    try {
      connect(fd, address, endpointName(endpoint), timeoutSeconds);
    } catch (error) {
      const code = error instanceof SyscallError ? error.code : String(error);
      const hint =
        code === 'EINPROGRESS' || code === 'ETIMEDOUT'
          ? `no answer in ${timeoutSeconds} s`
          : code === 'ECONNREFUSED' || code === 'ENOENT'
            ? 'is the NBD server running there?'
            : 'check the address';
      throw new Error(
        `nbd: cannot connect to ${endpointName(endpoint)} (${code}): ${hint} (${endpoint.kind === 'unix' ? '--unix' : '--host/--port'})`,
        { cause: error },
      );
    }
    if (endpoint.kind === 'tcp') setsockopt(fd, SOL.TCP, TCP.NODELAY, Buffer.from([1, 0, 0, 0])); // requests go out at once
    return fd;
  } catch (error) {
    close(fd);
    throw error;
  }
}

/** One option: IHAVEOPT, the option, its data's length, its data. */
function optionBytes(option: number, data: Uint8Array): Uint8Array {
  const header = Buffer.alloc(16);
  header.writeUInt32BE(IHAVEOPT_HIGH, 0);
  header.writeUInt32BE(IHAVEOPT_LOW, 4);
  header.writeUInt32BE(option, 8);
  header.writeUInt32BE(data.length, 12);
  return Buffer.concat([header, data]);
}

/** NBD_OPT_GO's data: the export's name, then one information request (NBD_INFO_BLOCK_SIZE). */
function goData(exportName: string): Uint8Array {
  const name = Buffer.from(exportName);
  const data = Buffer.alloc(4 + name.length + 4);
  data.writeUInt32BE(name.length, 0);
  name.copy(data, 4);
  data.writeUInt16BE(1, 4 + name.length);
  data.writeUInt16BE(NBD_INFO.BLOCK_SIZE, 6 + name.length);
  return data;
}

/**
 * Connects and negotiates the export; returns the socket, ready for the transmission phase
 * (blocking, without timeouts: its queue reads and writes it through io_uring), and the export.
 * Throws one line naming what failed and where.
 */
export function connectExport(
  endpoint: NbdEndpoint,
  exportName: string,
  timeoutSeconds = HANDSHAKE_SECONDS,
): { fd: number; export: NbdExport } {
  const fd = connectSocket(endpoint, timeoutSeconds);
  const where = `${endpointName(endpoint)}${exportName === '' ? '' : ` export ${JSON.stringify(exportName)}`}`;
  try {
    const receive = (length: number): Buffer => {
      try {
        return Buffer.from(receiveExactly(fd, length, `nbd ${where}`));
      } catch (error) {
        const code = error instanceof SyscallError ? error.code : '';
        throw new Error(
          code === 'EAGAIN'
            ? `nbd: ${where} said nothing for ${timeoutSeconds} s in the handshake: is it an NBD server?`
            : `nbd: ${where} closed the connection in the handshake (${code === '' ? 'end of stream' : code}): see the server's log`,
          { cause: error },
        );
      }
    };
    const greeting = receive(18);
    if (greeting.readUInt32BE(0) !== NBD_MAGIC_HIGH || greeting.readUInt32BE(4) !== NBD_MAGIC_LOW)
      throw new Error(`nbd: ${endpointName(endpoint)} is not an NBD server (no NBDMAGIC greeting)`);
    const serverFlags = greeting.readUInt16BE(16);
    if (
      greeting.readUInt32BE(8) !== IHAVEOPT_HIGH ||
      greeting.readUInt32BE(12) !== IHAVEOPT_LOW ||
      (serverFlags & HANDSHAKE.FIXED_NEWSTYLE) === 0
    )
      throw new Error(
        `nbd: ${endpointName(endpoint)} speaks an old NBD handshake (oldstyle or plain newstyle): tsublk needs fixed newstyle (qemu-nbd, nbdkit and nbd-server 3.x have it)`,
      );
    const clientFlags = Buffer.alloc(4);
    clientFlags.writeUInt32BE(HANDSHAKE.FIXED_NEWSTYLE | (serverFlags & HANDSHAKE.NO_ZEROES));
    sendAll(fd, clientFlags, `nbd ${where}`);
    /** One option reply: its type and data. */
    const optionReply = (): { type: number; data: Buffer } => {
      const header = receive(20);
      if (header.readUInt32BE(0) !== OPTION_REPLY_HIGH || header.readUInt32BE(4) !== OPTION_REPLY_LOW)
        throw new Error(`nbd: ${where} sent a malformed option reply (bad magic)`);
      const length = header.readUInt32BE(16);
      if (length > MAX_OPTION_REPLY)
        throw new Error(`nbd: ${where} sent an option reply of ${length} bytes (at most ${MAX_OPTION_REPLY})`);
      return { type: header.readUInt32BE(12), data: length === 0 ? Buffer.alloc(0) : receive(length) };
    };

    // Structured replies let a read come back as chunks: holes need not cross the network, and a
    // failing read can say why. A server without them (an error reply) keeps simple replies.
    sendAll(fd, optionBytes(NBD_OPT.STRUCTURED_REPLY, Buffer.alloc(0)), `nbd ${where}`);
    const structured = optionReply();
    const structuredReplies = structured.type === NBD_REP.ACK;

    sendAll(fd, optionBytes(NBD_OPT.GO, goData(exportName)), `nbd ${where}`);
    let size = -1;
    let flags = 0;
    let blocks = DEFAULT_BLOCKS;
    for (;;) {
      const { type, data } = optionReply();
      if ((type & NBD_REP_ERROR_BIT) !== 0) {
        const what =
          NBD_REP_ERROR[type & ~NBD_REP_ERROR_BIT] ?? `the server refused (error ${type & ~NBD_REP_ERROR_BIT})`;
        const said = data.toString('utf8').trim();
        const fix =
          (type & ~NBD_REP_ERROR_BIT) === 6
            ? ': check --export_name'
            : (type & ~NBD_REP_ERROR_BIT) === 1
              ? ': tsublk needs NBD_OPT_GO'
              : '';
        throw new Error(`nbd: ${where}: ${what}${said === '' ? '' : ` ("${said}")`}${fix}`);
      }
      if (type === NBD_REP.INFO && data.length >= 2) {
        const info = data.readUInt16BE(0);
        if (info === NBD_INFO.EXPORT && data.length >= 12) {
          size = data.readUInt32BE(2) * 2 ** 32 + data.readUInt32BE(6);
          flags = data.readUInt16BE(10);
        } else if (info === NBD_INFO.BLOCK_SIZE && data.length >= 14)
          blocks = {
            minimumBlock: data.readUInt32BE(2),
            preferredBlock: data.readUInt32BE(6),
            maximumBlock: data.readUInt32BE(10),
          };
      } else if (type === NBD_REP.ACK) break;
    }
    if (size < 0) throw new Error(`nbd: ${where} ended the handshake without saying the export's size`);
    if (!Number.isSafeInteger(size)) throw new Error(`nbd: ${where} is ${size} bytes, more than tsublk can address`);
    // The transmission phase goes through io_uring, which waits by polling: no timeouts.
    setsockopt(fd, SOL.SOCKET, SO.SNDTIMEO, timeval(0));
    setsockopt(fd, SOL.SOCKET, SO.RCVTIMEO, timeval(0));
    return { fd, export: { sizeBytes: size, flags, ...blocks, structuredReplies } };
  } catch (error) {
    close(fd);
    throw error;
  }
}
