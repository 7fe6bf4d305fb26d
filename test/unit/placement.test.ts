import { describe, expect, it } from 'vitest';
import { parseCpuList } from '../../src/cli/thread-cpus.js';
import { PlacementByMode } from '../../src/ublk/placement-by-mode.js';
import { queueCpus, queueCpusAtDepth } from '../../src/ublk/placement.js';
import { WaitMode } from '../../src/ublk/wait-policy.js';

describe('queueCpus', () => {
  it('places a queue beside the CPUs that submit to it, and anywhere when all of them do', () => {
    expect(queueCpus('beside', 0, [0], 2)).toEqual([1]);
    expect(queueCpus('beside', 1, [2, 3], 4)).toEqual([0, 1]);
    expect(queueCpus('beside', 0, [0, 1, 2, 3], 4)).toEqual([]);
  });

  it("follows the kernel's CPUs for the queue (submitters) or pins queue q to CPU q (pin)", () => {
    expect(queueCpus('submitters', 1, [2, 3], 4)).toEqual([2, 3]);
    expect(queueCpus('pin', 5, [], 4)).toEqual([1]);
  });

  it('auto: beside at first, on the submitters at depth; nowhere to move when every CPU submits', () => {
    expect(queueCpus('auto', 0, [0], 2)).toEqual([1]);
    expect(queueCpusAtDepth('auto', [0], [1])).toEqual([0]);
    expect(queueCpusAtDepth('auto', [0, 1], [])).toBeNull();
    expect(queueCpusAtDepth('beside', [0], [1])).toBeNull();
    expect(queueCpusAtDepth('submitters', [0], [0])).toBeNull();
  });
});

describe('parseCpuList', () => {
  it("reads the kernel's CPU lists, and nothing from a malformed one", () => {
    expect(parseCpuList('0')).toEqual([0]);
    expect(parseCpuList('0-2,5\n')).toEqual([0, 1, 2, 5]);
    expect(parseCpuList('0, 1')).toEqual([0, 1]); // sysfs's blk-mq cpu_list
    expect(parseCpuList('1,x')).toEqual([]);
  });
});

describe('PlacementByMode', () => {
  it('moves the thread only when the wait mode crosses between spinning and not', () => {
    const moves: number[][] = [];
    const warnings: string[] = [];
    const placement = new PlacementByMode(
      [1],
      [0],
      (line) => warnings.push(line),
      (cpus) => void moves.push([...cpus]),
    );
    for (const mode of [WaitMode.Batch, WaitMode.Plain, WaitMode.Batch, WaitMode.Spin, WaitMode.Spin, WaitMode.Plain])
      placement.follow(mode);
    expect(moves).toEqual([[0], [1], [0]]);
    expect(warnings).toEqual([]);
  });

  it('stays where it is once the kernel refuses a move, and says so once', () => {
    let tries = 0;
    const warnings: string[] = [];
    const placement = new PlacementByMode(
      [1],
      [0],
      (line) => warnings.push(line),
      () => {
        tries++;
        throw new Error('sched_setaffinity (tid=0, cpus=0): Invalid argument');
      },
    );
    for (const mode of [WaitMode.Batch, WaitMode.Spin, WaitMode.Plain]) placement.follow(mode);
    expect(tries).toBe(1);
    expect(warnings).toEqual([
      'placement auto: moving the thread to CPU 0 was refused (sched_setaffinity (tid=0, cpus=0): Invalid argument); it stays where it is',
    ]);
  });
});
