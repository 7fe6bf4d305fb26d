// A unix datagram socket bound where a $NOTIFY_SOCKET value says (a path, or @abstract), standing
// in for systemd's: tests read what sd_notify sent. Node has none, so libc's through Koffi.
import koffi from 'koffi';
import { AF, SOCK, close, socket } from '../../native-bindings/libc.js';
import { unixSocketAddress } from '../../src/cli/sd-notify.js';
import { pollUntil } from './poll.js';

const libc = koffi.load('libc.so.6');
const bind = libc.func('int bind(int fd, const uint8_t *addr, uint32_t len)') as (
  fd: number,
  addr: Uint8Array,
  len: number,
) => number;
const recv = libc.func('intptr_t recv(int fd, _Out_ uint8_t *buf, size_t len, int flags)') as (
  fd: number,
  buf: Uint8Array,
  len: number,
  flags: number,
) => number;
const MSG_DONTWAIT = 0x40;

export interface NotifyListener {
  /** The next datagram received, or null when none is waiting. */
  next(): string | null;
  /** The next datagram, waited for up to `withinMs` (polled every 20 ms); null if none came. */
  arrival(withinMs: number): Promise<string | null>;
  close(): void;
}

export function listenForNotify(name: string): NotifyListener {
  const fd = socket(AF.UNIX, SOCK.DGRAM);
  const address = unixSocketAddress(name);
  if (bind(fd, address, address.length) !== 0) {
    close(fd);
    throw new Error(`bind ${name} failed (errno ${koffi.errno()})`);
  }
  const next = (): string | null => {
    const buffer = Buffer.alloc(4096);
    const length = recv(fd, buffer, buffer.length, MSG_DONTWAIT);
    return length < 0 ? null : buffer.subarray(0, length).toString();
  };
  const arrival = async (withinMs: number): Promise<string | null> => {
    let received: string | null = null;
    await pollUntil(() => (received = next()) !== null, withinMs, 20);
    return received;
  };
  return { next, arrival, close: () => close(fd) };
}
