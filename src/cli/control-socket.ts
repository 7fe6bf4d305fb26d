import { chmodSync, existsSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { UblkError } from '../ublk/errors.js';
import { runDir } from '../ublk/run-file.js';

/**
 * The daemon's control channel: a Unix socket in the run directory, mode 0600 (root or the
 * device's owner only), one JSON line asked, one answered. `tsublk set` and `tsublk power` use it
 * to change a running device's settings, as null_blk's configfs attributes change while powered,
 * and `tsublk resize` to change its size.
 */
export function controlSocketPath(devId: number): string {
  return path.join(runDir, `${devId}.sock`);
}

export type ControlRequest =
  | {
      /** Settings by `add` option name; `power` 0 or 1. */
      readonly change: Readonly<Record<string, number | string>>;
    }
  | {
      /** tsublk resize: the disk's new size in bytes, and whether a loop file may be cut to it. */
      readonly resize: { readonly sizeBytes: number; readonly truncate: boolean };
    };

export type ControlReply =
  { readonly ok: true; readonly config: unknown } | { readonly ok: false; readonly error: string };

/** Daemon side: answers each request with `handle`'s reply; close() the server on the way down. */
export function listenControl(devId: number, handle: (request: ControlRequest) => ControlReply): Promise<net.Server> {
  const file = controlSocketPath(devId);
  rmSync(file, { force: true }); // a dead daemon's
  const server = net.createServer((socket) => {
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
      const end = text.indexOf('\n');
      if (end < 0) return;
      let reply: ControlReply;
      try {
        reply = handle(JSON.parse(text.slice(0, end)) as ControlRequest);
      } catch (error) {
        reply = { ok: false, error: (error as Error).message };
      }
      socket.end(JSON.stringify(reply) + '\n');
    });
    socket.on('error', () => undefined); // a client that went away: nothing to answer
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(file, () => {
      chmodSync(file, 0o600);
      resolve(server);
    });
  });
}

/** Client side: asks device `devId`'s daemon; its configuration as it now stands, or its one-line error. */
export async function requestControl(devId: number, request: ControlRequest): Promise<unknown> {
  const file = controlSocketPath(devId);
  if (!existsSync(file))
    throw new UblkError(
      `device ${devId} has no control socket (${file}): is its daemon running? see tsublk list -n ${devId}`,
    );
  const reply = await new Promise<ControlReply>((resolve, reject) => {
    const socket = net.createConnection(file);
    let text = '';
    socket.setEncoding('utf8');
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer within 10 s')));
    socket.on('connect', () => socket.write(JSON.stringify(request) + '\n'));
    socket.on('data', (chunk: string) => {
      text += chunk;
    });
    socket.on('end', () => {
      try {
        resolve(JSON.parse(text) as ControlReply);
      } catch {
        reject(
          new UblkError(`device ${devId}'s daemon answered nothing readable: see ${path.join(runDir, `${devId}.log`)}`),
        );
      }
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EACCES')
        reject(new UblkError(`device ${devId} is not yours (EACCES on ${file}): only its owner or root can change it`));
      else if (error.code === 'ECONNREFUSED')
        reject(
          new UblkError(`device ${devId}'s daemon is not listening on ${file}: it died; see tsublk list -n ${devId}`),
        );
      else reject(new UblkError(`device ${devId}'s control socket: ${error.message}`));
    });
  });
  if (!reply.ok) throw new UblkError(reply.error);
  return reply.config;
}
