// Running under a supervisor: add --config, sd_notify's datagrams, the systemd unit, and the
// distinct exit statuses of add --foreground.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { listenForNotify } from '../support/notify-listener.js';
import { expandAddConfig } from '../../src/cli/add-config.js';
import { EXIT } from '../../src/cli/exit-codes.js';
import { sdNotify, startWatchdog } from '../../src/cli/sd-notify.js';
import { systemdUnit } from '../../src/cli/systemd-unit.js';

const bin = fileURLToPath(new URL('../../bin/tsublk', import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), 'tsublk-supervision-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function config(name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

describe('add --config FILE', () => {
  it("puts the file's options in its place, so options after it win", () => {
    const file = config(
      'disk.json',
      JSON.stringify({ type: 'memory', size: '1G', r: 1, foreground: true, copy: false, number: 3 }),
    );
    expect(expandAddConfig(['add', '--config', file, '--size', '2G'])).toEqual([
      'add',
      '--type=memory',
      '--size=1G',
      '-r=1',
      '--foreground',
      '--no-copy',
      '--number=3',
      '--size',
      '2G',
    ]);
    expect(expandAddConfig(['add', `--config=${file}`])).toContain('--type=memory');
    expect(expandAddConfig(['list', '--config', file])).toEqual(['list', '--config', file]); // add's only
  });

  it.each([
    [
      'a missing file',
      path.join(dir, 'none.json'),
      /^cannot read --config .*none\.json \(ENOENT\): give a readable JSON file$/,
    ],
    [
      'no JSON',
      config('bad.json', '{type: null'),
      /^--config .*bad\.json is not JSON \(.*\): write an object of add's options$/,
    ],
    ['an array', config('array.json', '[1]'), /must hold one JSON object of add's options/],
    ['a nested value', config('nested.json', '{"size": {"g": 1}}'), /"size" must be a string, a number or true\/false/],
    ['another config', config('loop.json', '{"config": "x.json"}'), /names another config/],
  ])('refuses %s in one line', (_what, file, message) => {
    expect(() => expandAddConfig(['add', '--config', file])).toThrow(message);
  });
});

describe('add --foreground exit statuses', () => {
  const cli = (...args: string[]): { status: number | null; stderr: string } => {
    const result = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
    return { status: result.status, stderr: result.stderr };
  };

  it('a bad option or config is 2 in the foreground (which systemd does not retry), 1 for the daemon', () => {
    const bad = cli('add', '--foreground', '-t', 'null', '--bs', '3');
    expect(bad).toEqual({
      status: EXIT.BAD_CONFIG,
      stderr: 'tsublk: bad block size 3: use --bs 512, 1024, 2048 or 4096\n',
    });
    const unknown = cli('add', '--foreground', '--config', config('unknown.json', '{"type": "null", "colour": "red"}'));
    expect(unknown).toEqual({
      status: EXIT.BAD_CONFIG,
      stderr: 'tsublk: unknown option --colour: see tsublk add --help\n',
    });
    expect(cli('add', '--foreground', '--config', path.join(dir, 'none.json')).status).toBe(EXIT.BAD_CONFIG);
    expect(cli('add', '-t', 'null', '--bs', '3').status).toBe(1);
  });

  it('the unit prevents restarts on exactly that status', () => {
    expect(systemdUnit()).toContain(`RestartPreventExitStatus=${EXIT.BAD_CONFIG}\n`);
  });
});

describe('tsublk systemd-unit', () => {
  it('prints a Type=notify template unit that runs this installation in the foreground on /etc/tsublk/%i.json', () => {
    // The bundle's own paths (the CLI runs from dist/bundle/cli/).
    const printed = spawnSync(process.execPath, [bin, 'systemd-unit'], { encoding: 'utf8' });
    expect(printed.status).toBe(0);
    const unit = printed.stdout;
    expect(unit).toMatch(/^\[Unit\]$/m);
    expect(unit).toMatch(/^Type=notify$/m);
    expect(unit).toMatch(/^NotifyAccess=main$/m);
    expect(unit).toContain(`ExecStart=${process.execPath} ${bin} add --foreground --config /etc/tsublk/%i.json\n`);
    expect(unit).toMatch(/^WantedBy=multi-user\.target$/m);
  });
});

describe("sd_notify's datagram protocol", () => {
  it('sends each state as one datagram to a socket path and to an abstract name', () => {
    for (const name of [path.join(dir, 'notify'), `@tsublk-test-${process.pid}`]) {
      const listener = listenForNotify(name);
      try {
        expect(sdNotify('READY=1\nSTATUS=serving', { NOTIFY_SOCKET: name })).toBe(true);
        expect(sdNotify('STOPPING=1', { NOTIFY_SOCKET: name })).toBe(true);
        expect(listener.next()).toBe('READY=1\nSTATUS=serving');
        expect(listener.next()).toBe('STOPPING=1');
        expect(listener.next()).toBeNull();
      } finally {
        listener.close();
      }
    }
  });

  it('does nothing without $NOTIFY_SOCKET, and fails loudly when nothing listens there', () => {
    expect(sdNotify('READY=1', {})).toBe(false);
    expect(() => sdNotify('READY=1', { NOTIFY_SOCKET: path.join(dir, 'nobody') })).toThrow(/sendto.*ENOENT|ENOENT/);
  });

  it('sends WATCHDOG=1 every half of $WATCHDOG_USEC, only for the pid systemd names', async () => {
    const name = `@tsublk-watchdog-${process.pid}`;
    const listener = listenForNotify(name);
    try {
      // For another process (systemd's WATCHDOG_PID): nothing is sent.
      const other = startWatchdog({ NOTIFY_SOCKET: name, WATCHDOG_USEC: '20000', WATCHDOG_PID: '1' });
      await new Promise((resolve) => setTimeout(resolve, 50));
      other();
      expect(listener.next()).toBeNull();
      const stop = startWatchdog({ NOTIFY_SOCKET: name, WATCHDOG_USEC: '20000', WATCHDOG_PID: String(process.pid) });
      await new Promise((resolve) => setTimeout(resolve, 100));
      stop();
      const received: string[] = [];
      for (let next = listener.next(); next !== null; next = listener.next()) received.push(next);
      expect(received.length).toBeGreaterThanOrEqual(3); // every 10 ms for 100 ms, give or take the timer
      expect(new Set(received)).toEqual(new Set(['WATCHDOG=1']));
      await new Promise((resolve) => setTimeout(resolve, 30));
      expect(listener.next()).toBeNull(); // stopped
      expect(startWatchdog({ NOTIFY_SOCKET: name })).toBeTypeOf('function'); // no WatchdogSec: nothing to do
    } finally {
      listener.close();
    }
  });
});
