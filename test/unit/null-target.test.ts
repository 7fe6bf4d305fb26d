import { describe, expect, it } from 'vitest';
import { Request, type RequestCompleter } from '../../src/blk/request.js';
import type { QueueIo } from '../../src/blk/queue-io.js';
import { type AddArguments, planAdd } from '../../src/cli/plan.js';
import { PendingCompletions, nowNs } from '../../src/targets/null-completions.js';
import { IrqMode } from '../../src/targets/null-config.js';
import { type NullConfig, nullSettings, nullTarget } from '../../src/targets/null.js';

/** Records what each tag was ended with, in order. */
class Recorder implements RequestCompleter {
  readonly ended: Array<[number, number]> = [];
  completeRequest(tag: number, result: number): void {
    this.ended.push([tag, result]);
  }
}

function requests(count: number, completer: RequestCompleter): Array<Request<undefined>> {
  return Array.from({ length: count }, (_, tag) => {
    const rq = new Request<undefined>(0, tag, new Uint8Array(0), 0, undefined, completer);
    rq.sectors = tag + 1;
    return rq;
  });
}

const io = { depth: 8 } as QueueIo; // the null target only asks the depth

describe('PendingCompletions', () => {
  it('ends requests in arrival order once due and says how long until the next', () => {
    const recorder = new Recorder();
    const pending = new PendingCompletions(4);
    const [a, b, c] = requests(3, recorder);
    pending.add(a!, 10, 100);
    pending.add(b!, 20, 200);
    pending.add(c!, -5, 300);
    expect(pending.endDue(50)).toBe(50);
    expect(recorder.ended).toEqual([]);
    expect(pending.endDue(250)).toBe(50);
    expect(recorder.ended).toEqual([
      [0, 10],
      [1, 20],
    ]);
    expect(pending.endDue(Infinity)).toBe(-1);
    expect(recorder.ended).toEqual([
      [0, 10],
      [1, 20],
      [2, -5],
    ]);
    expect(pending.size).toBe(0);
  });

  it('learns how late wake-ups land and asks to wake that much earlier, never ending a request early', () => {
    const recorder = new Recorder();
    const pending = new PendingCompletions(4);
    const [rq] = requests(1, recorder);
    let now = 0;
    for (let round = 0; round < 40; round++) {
      pending.add(rq!, 1, now + 1000);
      const wait = pending.nextWait(now);
      expect(wait).toBeGreaterThan(0);
      now += wait + 300; // every timed wait ends 300 ns late
      while (pending.size > 0) {
        const again = pending.nextWait(now);
        if (pending.size > 0) now += Math.max(again, 1); // woken early: not ended yet
      }
    }
    expect(recorder.ended).toHaveLength(40);
    // After a few rounds the wait asked for is 1000 - ~300: the request ends close to its due time.
    pending.add(rq!, 1, now + 1000);
    expect(pending.nextWait(now)).toBeCloseTo(700, -1);
    // Due sooner than a wake-up takes: check again at once rather than sleep past it.
    expect(pending.nextWait(now + 800)).toBe(0);
  });

  it('sleeps again after one very late wake-up, rather than spinning through every later delay', () => {
    const recorder = new Recorder();
    const pending = new PendingCompletions(4);
    const [rq] = requests(1, recorder);
    let now = 0;
    pending.add(rq!, 1, now + 1000);
    now += pending.nextWait(now) + 20_000; // one wake-up lands 20 µs late (a busy host)
    expect(pending.nextWait(now)).toBe(-1);
    let sleptAgain = -1;
    for (let round = 0; round < 200 && sleptAgain < 0; round++) {
      pending.add(rq!, 1, now + 1000);
      while (pending.size > 0) {
        const wait = pending.nextWait(now);
        if (wait > 0 && sleptAgain < 0) sleptAgain = round;
        now += Math.max(wait, 50); // each check again costs 50 ns; wake-ups now land on time
      }
    }
    expect(sleptAgain).toBeGreaterThan(0);
    expect(sleptAgain).toBeLessThan(200);
  });

  it('wraps around its ring and refuses more than its capacity', () => {
    const recorder = new Recorder();
    const pending = new PendingCompletions(2);
    const rqs = requests(3, recorder);
    for (let round = 0; round < 5; round++) {
      pending.add(rqs[0]!, round, 0);
      pending.add(rqs[1]!, round, 0);
      expect(() => pending.add(rqs[2]!, 0, 0)).toThrow(/more than 2 requests pending/);
      pending.endDue(0);
    }
    expect(recorder.ended).toHaveLength(10);
  });
});

describe('the null target, irqmode by irqmode', () => {
  const ops = nullTarget.operations;
  const setUp = (config: Partial<NullConfig>) => {
    const recorder = new Recorder();
    const hw = ops.initHctx(nullSettings({ sizeBytes: 2 ** 20, logicalBlockSize: 512, ...config }), 0, io);
    return { recorder, hw, rqs: requests(4, recorder) };
  };

  it('irqmode 0 ends each request in queueRq, in full', () => {
    const { recorder, hw, rqs } = setUp({});
    ops.queueRq(hw, undefined, rqs[2]!, true);
    expect(recorder.ended).toEqual([[2, 3 * 512]]);
    expect(ops.poll?.(hw)).toBe(-1); // nothing to wait for: the loop sleeps until the kernel calls
  });

  it('irqmode 1 holds a batch until commitRqs', () => {
    const { recorder, hw, rqs } = setUp({ irqmode: IrqMode.Batch });
    ops.queueRq(hw, undefined, rqs[0]!, false);
    ops.queueRq(hw, undefined, rqs[1]!, true);
    expect(recorder.ended).toEqual([]);
    ops.commitRqs?.(hw, undefined);
    expect(recorder.ended).toEqual([
      [0, 512],
      [1, 1024],
    ]);
  });

  it('irqmode 2 ends a request from poll once completion_nsec has passed, never before', async () => {
    const { recorder, hw, rqs } = setUp({ irqmode: IrqMode.Timer, completionNsec: 20e6 });
    const start = nowNs();
    ops.queueRq(hw, undefined, rqs[0]!, true);
    const wait = ops.poll?.(hw) ?? -1;
    expect(wait).toBeGreaterThan(15e6);
    expect(wait).toBeLessThanOrEqual(20e6);
    expect(recorder.ended).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 25));
    expect(ops.poll?.(hw)).toBe(-1);
    expect(recorder.ended).toEqual([[0, 512]]);
    expect(nowNs() - start).toBeGreaterThanOrEqual(20e6);
  });

  it('exitHctx ends whatever is still pending', () => {
    const { recorder, hw, rqs } = setUp({ irqmode: IrqMode.Timer, completionNsec: 10e9 });
    ops.queueRq(hw, undefined, rqs[0]!, true);
    ops.exitHctx(hw, 0);
    expect(recorder.ended).toEqual([[0, 512]]);
  });

  it('init_hctx_fail makes exactly that queue fail to set up', () => {
    const settings = nullSettings({ sizeBytes: 2 ** 20, logicalBlockSize: 512, initHctxFail: 1 });
    expect(() => ops.initHctx(settings, 0, io)).not.toThrow();
    expect(() => ops.initHctx(settings, 1, io)).toThrow('initHctx of queue 1 fails on purpose (--init_hctx_fail 1)');
  });
});

describe("add's null_blk options", () => {
  const base: AddArguments = {
    type: 'null',
    number: -1,
    queues: 2,
    depth: 128,
    size: '1G',
    bs: 512,
    u: 0,
    g: 0,
    r: 0,
    e: 0,
    i: 0,
    auto_zc: false,
    'batch-io': false,
    usercopy: false,
    copy: false,
    unprivileged: false,
    max_io_buf_bytes: 524288,
    pin: false,
    'log-level': 'info',
  };

  it('reach the null configuration only when given', () => {
    expect(planAdd(base).targetConfig).toEqual({ sizeBytes: 2 ** 30, logicalBlockSize: 512 });
    expect(planAdd({ ...base, irqmode: 2, completion_nsec: 1e6 }).targetConfig).toEqual({
      sizeBytes: 2 ** 30,
      logicalBlockSize: 512,
      irqmode: 2,
      completionNsec: 1e6,
    });
  });

  it.each([
    [{ irqmode: 3 }, 'bad --irqmode 3: use --irqmode 0, 1 or 2'],
    [{ completion_nsec: -1 }, 'bad --completion_nsec -1: use --completion_nsec between 0 and 10000000000 (10 s)'],
    [{ init_hctx_fail: 2 }, 'bad --init_hctx_fail 2: the device has 2 queue(s); use an index below -q'],
    [{ type: 'memory', irqmode: 1 }, '--irqmode is for the null target: add -t null, or leave --irqmode out'],
  ])('refuse %j in one line', (extra, message) => {
    expect(() => planAdd({ ...base, ...extra })).toThrow(message);
  });
});
