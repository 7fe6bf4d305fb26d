import { describe, expect, it } from 'vitest';
import { type ResultRow, type Results, comparisonLines, reportHtml, resultsCsv } from '../../bench/report.js';

const row = (device: string, workload: string, iops: number, extra: Partial<ResultRow> = {}): ResultRow => ({
  device,
  anchor: 'null_blk',
  workload,
  iops,
  anchor_iops: 80_000,
  ratio: Math.round((iops / 80_000) * 100) / 100,
  server_cpu_us_per_io: 12.5,
  server_user_us_per_io: 5.25,
  ios_per_enter: 1.5,
  lat_mean_us: 400,
  lat_p50_us: 350,
  lat_p99_us: 1200,
  lat_p999_us: 2500,
  ...extra,
});

const results: Results = {
  kernel: '7.2.13+deb14-amd64',
  placement: 'beside',
  cpus: 2,
  accel: 'tcg',
  runs: 3,
  seconds: 5,
  warmup: 3,
  rows: [
    row('tsublk-null', 'randread-4k-qd1-j1', 7_000),
    row('tsublk-null', 'randread-4k-qd32-j1', 64_000),
    row('tsublk-null-b', 'randread-4k-qd32-j1', 66_000, { base: 'tsublk-null', of_base: 1.03 }),
  ],
};

describe('npm run bench -- --report DIR', () => {
  it('writes results.csv: a header, then one line per row with every column', () => {
    const lines = resultsCsv(results).trimEnd().split('\n');
    expect(lines).toHaveLength(1 + results.rows.length);
    const header = lines[0]?.split(',') ?? [];
    expect(header).toEqual(
      expect.arrayContaining(['device', 'workload', 'iops', 'lat_p50_us', 'lat_p999_us', 'of_base']),
    );
    const last = Object.fromEntries(header.map((name, i) => [name, lines[3]?.split(',')[i]]));
    expect(last).toMatchObject({ device: 'tsublk-null-b', iops: '66000', lat_p999_us: '2500', of_base: '1.03' });
    expect(lines[1]?.split(',')).toHaveLength(header.length); // an absent base is an empty field
  });

  it('draws one self-contained page: inline SVG, no script or network, a bar per row and anchor, the header facts', () => {
    const html = reportHtml(results);
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html).not.toMatch(/<script|<link|src=|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    expect(html.match(/<svg /g)).toHaveLength(2 + 2); // one IOPS chart per device, CPU, I/Os per enter
    expect(html.match(/<rect class="tsublk"/g)).toHaveLength(results.rows.length);
    expect(html.match(/<rect class="anchor"/g)).toHaveLength(results.rows.length);
    expect(html.match(/<rect class="user"/g)).toHaveLength(results.rows.length);
    expect(html.match(/<rect class="previous"/g)).toBeNull();
    expect(html).toContain('Linux 7.2.13+deb14-amd64 · 2 CPUs · accel tcg');
    expect(html).toContain('median of 3 runs of 5 s after 3 s warm-up');
    expect(reportHtml({ ...results, warmup: 0 })).toContain('median of 3 runs of 5 s</p>'); // none: not named
    expect(html).toContain('<td>2500</td>'); // p99.9 in the table
  });

  it('compares with an earlier run: a second bar per row found in both, and the change per row', () => {
    const previous: Results = { ...results, rows: [row('tsublk-null', 'randread-4k-qd32-j1', 50_000)] };
    const html = reportHtml(results, previous);
    expect(html.match(/<rect class="previous"/g)).toHaveLength(1);
    expect(html).toContain('<td>+28.0 %</td>');
    expect(html.match(/<tr class="slower">/g)).toBeNull(); // faster: not marked
    const slower = reportHtml(results, { ...results, rows: [row('tsublk-null', 'randread-4k-qd32-j1', 70_000)] });
    expect(slower.match(/<tr class="slower">.*?<\/tr>/g)).toEqual([expect.stringContaining('<td>-8.6 %</td>')]);
    expect(comparisonLines(results, previous)).toEqual([
      'tsublk-null randread-4k-qd32-j1: 50000 -> 64000 IOPS (+28.0 %)',
    ]);
  });

  it('is well-formed: every element it opens is closed, in order', () => {
    const html = reportHtml(results, results);
    const open: string[] = [];
    for (const [, closing, name, selfClosed] of html.matchAll(/<(\/?)([a-zA-Z][a-zA-Z0-9]*)\b[^>]*?(\/?)>/g)) {
      if (name === undefined || name === 'meta' || selfClosed === '/') continue; // void or self-closed
      if (closing === '/') expect(open.pop(), `</${name}>`).toBe(name);
      else open.push(name);
    }
    expect(open).toEqual([]);
  });

  it('escapes what it did not write itself', () => {
    const html = reportHtml({ ...results, kernel: '<b>&', rows: [row('tsublk-<x>', 'w"1', 1)] });
    expect(html).not.toContain('<b>&');
    expect(html).not.toContain('tsublk-<x>');
    expect(html).toContain('tsublk-&#60;x&#62;');
  });
});
