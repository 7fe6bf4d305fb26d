import { beforeAll, describe, expect, it } from 'vitest';
import { uapiChecks as blkZonedChecks } from '../../native-bindings/blkzoned.js';
import { uapiChecks as ioUringChecks } from '../../native-bindings/io_uring.js';
import { uapiChecks as ublkChecks } from '../../native-bindings/ublk_cmd-checks.js';
import type { UapiCheck } from '../../native-bindings/uapi-check.js';
import { uapiHeaders } from '../support/uapi-headers.js';
import { type ProbeResult, compareWithHeaders, runProbe } from '../support/uapi-probe.js';

const checks: readonly UapiCheck[] = [...ioUringChecks, ...ublkChecks, ...blkZonedChecks];

describe.each([
  { suite: 'trixie', version: '6.12' },
  { suite: 'sid', version: '7.' },
] as const)("the UAPI mirror against Debian $suite's linux-libc-dev", ({ suite, version }) => {
  let probe: ProbeResult;
  beforeAll(() => {
    probe = runProbe(checks, uapiHeaders(suite));
  }, 180_000);

  it(`reads the ${version}x headers`, () => {
    expect(probe.headerVersion.startsWith(version)).toBe(true);
  });

  it('agrees on every size, offset and constant', () => {
    expect(compareWithHeaders(checks, probe)).toEqual([]);
  });

  it('would notice any one of them changed', () => {
    // Mutate each check in turn: every mutation must be reported, or the test proves nothing.
    const present = checks.filter((_, index) => probe.values[index] !== null);
    expect(present.length).toBeGreaterThan(100);
    const unnoticed = checks.filter((_, index) => {
      if (probe.values[index] === null) return false;
      const mutated = checks.map((c, i) => (i === index ? { ...c, expected: c.expected + 1 } : c));
      return compareWithHeaders(mutated, probe).length !== 1;
    });
    expect(unnoticed.map((c) => c.expression)).toEqual([]);
  });
});
