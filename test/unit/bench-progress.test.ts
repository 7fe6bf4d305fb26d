import { afterEach, describe, expect, it, vi } from 'vitest';
import { Progress, progressLine, progressWidth, timeLeft } from '../../bench/progress.js';

describe("the benchmark's progress line", () => {
  afterEach(() => vi.restoreAllMocks());

  it('counts steps from 1 and says the time left from the pace so far, once a step is done', () => {
    expect(progressLine(0, 24, 'tsublk-null randread-qd1: tsublk, run 1 of 3', 0, 200)).toBe(
      '[1/24] 0% tsublk-null randread-qd1: tsublk, run 1 of 3',
    );
    expect(progressLine(6, 24, 'x', 60_000, 200)).toBe('[7/24] 25% x · about 3 min left');
    expect(timeLeft(3, 4, 30_000)).toBe('about 10 s left');
    expect(timeLeft(4, 4, 30_000)).toBe('');
  });

  it('never wraps: a line as wide as the terminal is cut to fit, with an ellipsis', () => {
    const line = progressLine(0, 2, 'a'.repeat(100), 0, 40);
    expect(line).toHaveLength(39);
    expect(line.endsWith('…')).toBe(true);
  });

  it("is drawn on a terminal, or on the host's one that TSUBLK_PROGRESS names by its width, and nowhere else", () => {
    expect(progressWidth({ isTTY: true, columns: 100 }, {})).toBe(100);
    expect(progressWidth({}, {})).toBeNull();
    expect(progressWidth({}, { TSUBLK_PROGRESS: '120' })).toBe(120);
    expect(progressWidth({}, { TSUBLK_PROGRESS: 'yes' })).toBeNull();

    const written: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    const quiet = new Progress(2, null);
    quiet.step('one');
    quiet.print('a row\n');
    quiet.end();
    expect(written).toEqual(['a row\n']);

    written.length = 0;
    const shown = new Progress(2, 80);
    shown.step('one');
    shown.step('two');
    shown.print('a row\n');
    shown.end();
    expect(written[0]).toBe('\r\x1b[K[1/2] 0% one');
    const second = '\r\x1b[K[2/2] 50% two';
    expect(written[1]?.startsWith(second)).toBe(true); // the time left follows where the pace shows one
    expect(written.slice(2, 4)).toEqual(['\r\x1b[K', 'a row\n']); // the line erased, the row above it
    expect(written[4]?.startsWith(second)).toBe(true); // then drawn again
    expect(written.slice(5)).toEqual(['\r\x1b[K']); // and gone at the end
  });
});
