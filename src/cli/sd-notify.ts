// sd_notify(3): tell the service manager (systemd, Type=notify) that the device is LIVE
// (READY=1), that it is stopping (STOPPING=1), and that the daemon is alive (WATCHDOG=1). The
// protocol is one datagram on the unix socket $NOTIFY_SOCKET names. It is sent through the FFI:
// Node has no unix datagram socket, and the systemd-notify binary would be a process start per
// message whose pid is not the daemon's (which systemd checks with NotifyAccess=main).
import { AF, SOCK, close, sendto, socket } from '../../native-bindings/libc.js';
import { unixSocketAddress } from '../../native-bindings/socket-address.js';

export { unixSocketAddress } from '../../native-bindings/socket-address.js';

/**
 * Sends `state` ("READY=1", "STOPPING=1\nSTATUS=…") to $NOTIFY_SOCKET; false when there is no
 * service manager to tell (the variable is unset). Throws when the send fails.
 */
export function sdNotify(state: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const name = env['NOTIFY_SOCKET'];
  if (name === undefined || name === '') return false;
  const address = unixSocketAddress(name);
  const fd = socket(AF.UNIX, SOCK.DGRAM);
  try {
    sendto(fd, Buffer.from(state), address, `NOTIFY_SOCKET ${name}`);
  } finally {
    close(fd);
  }
  return true;
}

/**
 * WATCHDOG=1 every half of $WATCHDOG_USEC, when systemd asks for it (WatchdogSec=) and for this
 * process ($WATCHDOG_PID, if set, is ours); returns how to stop. The timer does not keep the
 * process alive.
 */
export function startWatchdog(env: NodeJS.ProcessEnv = process.env): () => void {
  const usec = Number(env['WATCHDOG_USEC'] ?? '');
  const pid = env['WATCHDOG_PID'];
  if (!(usec > 0) || (pid !== undefined && pid !== '' && Number(pid) !== process.pid)) return () => undefined;
  const timer = setInterval(() => sdNotify('WATCHDOG=1', env), Math.max(1, Math.floor(usec / 2000)));
  timer.unref();
  return () => clearInterval(timer);
}
