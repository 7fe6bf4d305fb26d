import { describe, expectTypeOf, it } from 'vitest';
import type { Operations } from '../../src/blk/operations.js';
import type { Request } from '../../src/blk/request.js';
import type { nullTarget } from '../../src/targets/null.js';
import { type NullQueue } from '../../src/targets/null.js';

// Type-level tests: tsc (npm run typecheck) checks them; the runtime assertions are trivial.
interface MyHw {
  readonly queue: number;
  served: number;
}
interface MyRq {
  readonly started: bigint;
}

describe('Operations types', () => {
  it('hands queueRq exactly the HwData that initHctx returns, and typed RequestData', () => {
    type Ops = Operations<{ size: number }, string, MyHw, MyRq>;
    expectTypeOf<Parameters<Ops['queueRq']>[0]>().toEqualTypeOf<MyHw>();
    expectTypeOf<ReturnType<Ops['initHctx']>>().toEqualTypeOf<MyHw>();
    expectTypeOf<Parameters<Ops['exitHctx']>[0]>().toEqualTypeOf<MyHw>();
    expectTypeOf<Parameters<Ops['queueRq']>[1]>().toEqualTypeOf<string>();
    expectTypeOf<Parameters<Ops['queueRq']>[2]>().toEqualTypeOf<Request<MyRq>>();
    expectTypeOf<Request<MyRq>['data']>().toEqualTypeOf<MyRq>();
    expectTypeOf<Parameters<NonNullable<Ops['poll']>>[0]>().toEqualTypeOf<MyHw>();
    expectTypeOf<Parameters<NonNullable<Ops['commitRqs']>>[0]>().toEqualTypeOf<MyHw>();
  });

  it('rejects a queueRq that expects other data than initHctx builds', () => {
    const ops: Operations<void, void, MyHw, undefined> = {
      newRequestData: () => undefined,
      initHctx: (_t, queue) => ({ queue, served: 0 }),
      exitHctx: () => undefined,
      // @ts-expect-error: HwData is MyHw, so a queueRq taking a number is a compile error
      queueRq: (hw: number) => hw,
    };
    expectTypeOf(ops).toMatchTypeOf<Operations<void, void, MyHw, undefined>>();
  });

  it('gives the null target its per-queue counters as HwData', () => {
    expectTypeOf<ReturnType<typeof nullTarget.operations.initHctx>>().toEqualTypeOf<NullQueue>();
  });
});
