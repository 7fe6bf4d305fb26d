// Blocking socket calls through the FFI and signals: a handler that runs mid-call (a profiler's
// SIGPROF, a terminal's SIGWINCH) makes connect(2) return EINTR, which must not fail the call.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AF, SO, SOCK, SOL, close, connect, setsockopt, socket } from '../../native-bindings/libc.js';
import { unixSocketAddress } from '../../native-bindings/socket-address.js';

const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const undo of cleanup.splice(0).reverse()) undo();
});

function started(child: ChildProcess): ChildProcess {
  cleanup.push(() => child.kill('SIGKILL'));
  return child;
}

describe('connect(2) through the FFI', () => {
  it('goes on through a signal handler that interrupts it (EINTR), and connects once the listener takes it', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tsublk-eintr-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const address = path.join(dir, 'listener.sock');
    // A listener with a backlog of 1 that stops itself once listening: its queue fills, and a
    // connect to it blocks until it is continued and accepts.
    const listener = started(
      spawn(process.execPath, [
        '-e',
        `require('net').createServer().listen({ path: ${JSON.stringify(address)}, backlog: 1 }, () => process.kill(process.pid, 'SIGSTOP'))`,
      ]),
    );
    for (let waited = 0; !existsSync(address); waited += 10) {
      if (waited > 10_000) throw new Error('the listener did not start');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await new Promise((resolve) => setTimeout(resolve, 100)); // stopped by now
    const filled: number[] = [];
    cleanup.push(() => filled.forEach((fd) => close(fd)));
    const sockaddr = unixSocketAddress(address);
    // Fill the backlog (a blocking connect would wait here: these are made before any signal).
    for (let i = 0; i < 10; i++) {
      const fd = socket(AF.UNIX, SOCK.STREAM | 0o4000); // SOCK_NONBLOCK: fill without waiting
      filled.push(fd);
      try {
        connect(fd, sockaddr, 'filler');
      } catch {
        break; // EAGAIN: full
      }
    }
    // While the next connect blocks: SIGUSR2 to this process (handled: it interrupts the call), then
    // the listener continued (it accepts, and the connect completes).
    let signals = 0;
    const handler = (): void => void signals++;
    process.on('SIGUSR2', handler);
    cleanup.push(() => process.off('SIGUSR2', handler));
    started(
      spawn('sh', ['-c', `sleep 0.3; kill -USR2 ${process.pid}; sleep 0.3; kill -CONT ${listener.pid}`], {
        stdio: 'ignore',
      }),
    );
    const fd = socket(AF.UNIX, SOCK.STREAM);
    cleanup.push(() => close(fd));
    // As the nbd handshake bounds it: with a timeout set, the kernel never restarts an interrupted connect.
    const tenSeconds = Buffer.alloc(16);
    tenSeconds.writeUInt32LE(10, 0);
    setsockopt(fd, SOL.SOCKET, SO.SNDTIMEO, tenSeconds);
    const before = Date.now();
    connect(fd, sockaddr, 'the stopped listener', 10);
    // The test's premise: the call was still waiting when the signal came (0.3 s in), and it
    // waited on for the listener (0.6 s in). Before EINTR was retried, it threw there.
    expect(Date.now() - before).toBeGreaterThanOrEqual(500);
    await new Promise((resolve) => setTimeout(resolve, 50)); // the handler runs on the event loop
    expect(signals).toBe(1);
  });
});
