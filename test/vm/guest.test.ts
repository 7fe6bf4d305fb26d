import { existsSync, readFileSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Ring } from '../../src/uring/ring.js';

// These tests need the kernel's ublk_drv: they run inside the VM (npm run test:vm).
// Run anywhere else, they fail, on purpose, rather than skip.
describe('the VM guest', () => {
  it('is the VM (run this suite with npm run test:vm)', () => {
    expect(process.env['TSUBLK_IN_VM'], 'not inside the tsublk VM: use npm run test:vm').toBe('1');
  });

  it('has ublk_drv loaded and /dev/ublk-control as a character device', () => {
    expect(existsSync('/sys/module/ublk_drv'), 'ublk_drv is not loaded').toBe(true);
    expect(statSync('/dev/ublk-control').isCharacterDevice()).toBe(true);
  });

  it('runs a kernel with ublk: 6.12 or newer', () => {
    const [major = 0, minor = 0] = readFileSync('/proc/sys/kernel/osrelease', 'utf8').split('.').map(Number);
    expect(major * 1000 + minor).toBeGreaterThanOrEqual(6012);
  });

  it('maps processes without ASLR under TCG (its translations then carry over between starts), with it under KVM', () => {
    const accel = /\btsublk\.accel=(\w+)/.exec(readFileSync('/proc/cmdline', 'utf8'))?.[1];
    const randomized = readFileSync('/proc/sys/kernel/randomize_va_space', 'utf8').trim();
    expect(randomized).toBe(accel === 'tcg' ? '0' : '2');
  });

  it('round-trips an io_uring NOP from Node through Koffi', () => {
    const ring = Ring.create(4, { sqe128: true });
    try {
      ring.prepNop(ring.getSqe(), 0x1234_5678_9a);
      expect(ring.submitAndWait(1)).toBe(1);
      const seen: Array<[number, number]> = [];
      ring.drainCompletions((userData, result) => seen.push([userData, result]));
      expect(seen).toEqual([[0x1234_5678_9a, 0]]);
    } finally {
      ring.close();
    }
  });
});
