import type { TargetPlanner } from '../../blk/target-plan.js';
import type { NbdConfig } from './config.js';

const DEFAULT_PORT = 10809;
/** Long enough for a server to restart, short enough that an application hears of a dead one within a minute. */
const DEFAULT_RECONNECT_SECONDS = 30;

/**
 * The NBD target's options, named as the C ublk utility's nbd target names them
 * (`--host`, `--port`, `--export_name`, `--unix`), so its scripts run unchanged.
 */
export const nbdPlanner: TargetPlanner = {
  name: 'nbd',
  onePerQueue: 'it keeps one connection per queue: use -q N for N connections',
  heading: 'nbd target (an export of an NBD server: qemu-nbd, nbdkit, nbd-server):',
  options: [
    {
      name: 'host',
      kind: 'string',
      describe: 'the NBD server, by name or address',
      valid: (v) => v !== '',
      fix: 'name it: --host 192.0.2.7 or --host storage.example',
    },
    {
      name: 'port',
      kind: 'number',
      describe: "the server's TCP port",
      defaultValue: DEFAULT_PORT,
      valid: (v) => Number.isInteger(v) && (v as number) > 0 && (v as number) < 65536,
      fix: 'use --port between 1 and 65535 (NBD: 10809)',
    },
    {
      name: 'unix',
      kind: 'string',
      describe: "the server's unix socket, instead of --host",
      valid: (v) => v !== '',
      fix: 'name the socket: --unix /run/nbd.sock',
    },
    {
      name: 'export_name',
      kind: 'string',
      describe: 'the export to serve',
      defaultValue: '',
    },
    {
      name: 'reconnect_timeout',
      kind: 'number',
      describe: 'when a connection fails, hold its I/O this many seconds while reconnecting (0: fail it at once)',
      defaultValue: DEFAULT_RECONNECT_SECONDS,
      valid: (v) => Number.isFinite(v) && (v as number) >= 0 && (v as number) <= 86400,
      fix: 'use --reconnect_timeout in seconds, 0 to 86400',
    },
    {
      name: 'read_only',
      kind: 'boolean',
      describe: 'a read-only disk (an export the server marks read-only always is)',
      defaultValue: false,
    },
  ],
  plan(values, common) {
    const host = values['host'];
    const unix = values['unix'];
    if ((host === undefined) === (unix === undefined))
      throw new Error(
        host === undefined
          ? 'the nbd target serves an NBD export: add --host HOST [--port N] or --unix PATH'
          : 'give the nbd target --host or --unix, not both',
      );
    if (common.sizeBytes !== null)
      throw new Error("the nbd target's size is the export's: leave out --size (the server says it)");
    if (unix !== undefined && values['port'] !== undefined)
      throw new Error('--port goes with --host, not --unix: leave it out');
    const config: NbdConfig = {
      sizeBytes: 0, // the export's, found when the daemon connects
      logicalBlockSize: common.logicalBlockSize,
      blockSizeGiven: common.logicalBlockSizeGiven,
      endpoint:
        unix !== undefined
          ? { kind: 'unix', path: String(unix) }
          : { kind: 'tcp', host: String(host), ip: '', port: Number(values['port'] ?? DEFAULT_PORT) },
      exportName: String(values['export_name'] ?? ''),
      readOnly: values['read_only'] === true,
      reconnectTimeoutSeconds: Number(values['reconnect_timeout'] ?? DEFAULT_RECONNECT_SECONDS),
    };
    // Requests go to the socket from, and replies into, the per-tag buffers of the copy data path,
    // or the requests' own pages with zero copy (AUTO_BUF_REG, 6.16: the default there). One queue (one connection), as the kernel's nbd client, unless -q asks for more (a
    // multi-conn export can take a connection per queue). Placement auto: the queues make room
    // at depth for a server on this machine (nbdkit, qemu-nbd), as placement.ts measured.
    return {
      config,
      dataPath: 'copy',
      zeroCopy: true,
      placement: 'auto',
      ...(common.queuesGiven ? {} : { queues: 1 }),
    };
  },
};
