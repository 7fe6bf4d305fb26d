import { describe, expect, it } from 'vitest';
import { daemonArgs, daemonArgsFromInput, parseDaemonArgs } from '../../src/cli/daemon-args.js';
import type { AddPlan } from '../../src/cli/plan.js';

describe("the daemon's arguments", () => {
  it('carry a plan or a device to recover there and back', () => {
    const plan = { devId: 3, target: 'null' } as unknown as AddPlan;
    expect(parseDaemonArgs(daemonArgs(plan, null))).toEqual({ plan, recover: null });
    expect(parseDaemonArgs(daemonArgs(null, 7))).toEqual({ plan: null, recover: 7 });
  });

  it('come on stdin as one JSON line, or not at all when the CLI did not need the daemon', () => {
    const args = daemonArgs(null, 7);
    expect(daemonArgsFromInput(`${JSON.stringify(args)}\n`)).toEqual(args);
    expect(daemonArgsFromInput('')).toBeNull();
    expect(daemonArgsFromInput('\n')).toBeNull();
    expect(() => daemonArgsFromInput('{"serve": 1}')).toThrow(/a JSON array of strings on its stdin/);
    expect(() => daemonArgsFromInput('["serve", 7]')).toThrow(/a JSON array of strings on its stdin/);
  });

  it('refuse anything else in one line', () => {
    expect(() => parseDaemonArgs(['serve'])).toThrow(/serve --plan JSON or serve --recover ID/);
    expect(() => parseDaemonArgs(['serve', '--recover', 'x'])).toThrow(/bad daemon argument --recover x/);
    expect(() => parseDaemonArgs(['list', '--plan', '{}'])).toThrow(/tsublk add and recover start it/);
  });
});
