// struct sockaddr_un, sockaddr_in and sockaddr_in6 as bytes, for connect(2) and sendto(2)
// (sys/un.h, netinet/in.h on x86-64 Linux: the family little-endian, ports and addresses in
// network order).
import { isIPv4, isIPv6 } from 'node:net';
import { AF, SOCKADDR_UN_SIZE } from './libc.js';

/** A unix socket's address: a path, or an abstract name after '@' (a leading NUL). */
export function unixSocketAddress(name: string): Uint8Array {
  const abstract = name.startsWith('@');
  const path = abstract ? Buffer.concat([Buffer.of(0), Buffer.from(name.slice(1))]) : Buffer.from(name);
  if (path.length > SOCKADDR_UN_SIZE - 2 - (abstract ? 0 : 1))
    throw new Error(`the unix socket ${name} is longer than a unix socket address holds (107 bytes)`);
  // sun_family, then the path (NUL-ended); an abstract name takes only its own bytes.
  const address = Buffer.alloc(2 + path.length + (abstract ? 0 : 1));
  address.writeUInt16LE(AF.UNIX, 0);
  path.copy(address, 2);
  return address;
}

/** An IPv4 or IPv6 socket address of a numeric `ip` and a TCP `port`. */
export function inetSocketAddress(ip: string, port: number): Uint8Array {
  if (isIPv4(ip)) {
    const address = Buffer.alloc(16); // sockaddr_in: family, port, 4 address bytes, 8 zeros
    address.writeUInt16LE(AF.INET, 0);
    address.writeUInt16BE(port, 2);
    ip.split('.').forEach((part, i) => address.writeUInt8(Number(part), 4 + i));
    return address;
  }
  if (!isIPv6(ip)) throw new Error(`${ip} is not a numeric IPv4 or IPv6 address`);
  const address = Buffer.alloc(28); // sockaddr_in6: family, port, flowinfo, 16 address bytes, scope id
  address.writeUInt16LE(AF.INET6, 0);
  address.writeUInt16BE(port, 2);
  ipv6Bytes(ip).forEach((byte, i) => address.writeUInt8(byte, 8 + i));
  return address;
}

/** The 16 bytes of a numeric IPv6 address ('::' expanded, an IPv4 tail as two groups). */
function ipv6Bytes(ip: string): number[] {
  let text = ip.replace(/%.*$/, ''); // a zone id: the scope is left 0
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4 !== null) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const groups = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const all = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  return all.flatMap((group) => [group >> 8, group & 0xff]);
}
