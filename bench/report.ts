// `npm run bench -- --report DIR [--compare OLD/results.json]`: the benchmark's results as files
// people can look at and keep: results.json (the --json object), results.csv, and report.html,
// one self-contained page (no network, no script) whose charts are inline SVG.

/** One measured row (bench/block.ts), as results.json holds it. */
export interface ResultRow {
  readonly device: string;
  readonly anchor: string;
  readonly workload: string;
  readonly iops: number;
  readonly anchor_iops: number;
  readonly ratio: number;
  readonly server_cpu_us_per_io: number;
  /** The user-space share of server_cpu_us_per_io; the rest is the kernel's, in tsublk's threads. */
  readonly server_user_us_per_io: number;
  readonly ios_per_enter: number;
  readonly lat_mean_us: number;
  readonly lat_p50_us?: number;
  readonly lat_p99_us: number;
  readonly lat_p999_us?: number;
  readonly base?: string;
  readonly of_base?: number;
}

/** What one benchmark run measured, and where. */
export interface Results {
  readonly kernel: string;
  readonly placement: string;
  readonly cpus?: number;
  /** QEMU's accelerator (tcg or kvm), from the guest's kernel command line. */
  readonly accel?: string;
  readonly runs?: number;
  readonly seconds?: number;
  /** Each workload's unmeasured warm-up run on tsublk (seconds). */
  readonly warmup?: number;
  readonly rows: readonly ResultRow[];
}

const CSV_COLUMNS: ReadonlyArray<keyof ResultRow> = [
  'device',
  'workload',
  'iops',
  'anchor',
  'anchor_iops',
  'ratio',
  'server_cpu_us_per_io',
  'server_user_us_per_io',
  'ios_per_enter',
  'lat_mean_us',
  'lat_p50_us',
  'lat_p99_us',
  'lat_p999_us',
  'base',
  'of_base',
];

/** results.csv: a header, then one line per row (no field holds a comma or a quote). */
export function resultsCsv(results: Results): string {
  const lines = results.rows.map((row) => CSV_COLUMNS.map((column) => String(row[column] ?? '')).join(','));
  return [CSV_COLUMNS.join(','), ...lines].join('\n') + '\n';
}

const key = (row: ResultRow): string => `${row.device} ${row.workload}`;

/** Per row also in `previous` (same device and workload): its IOPS then and now, and the change. */
export function compareRows(
  results: Results,
  previous: Results,
): Array<{ row: ResultRow; before: number; change: number }> {
  const old = new Map(previous.rows.map((row) => [key(row), row]));
  return results.rows.flatMap((row) => {
    const before = old.get(key(row));
    if (before === undefined || before.iops <= 0) return [];
    return [{ row, before: before.iops, change: row.iops / before.iops - 1 }];
  });
}

/** One line per compared row: "tsublk-null randread-4k-qd1-j1: 7453 -> 8100 IOPS (+8.7 %)". */
export function comparisonLines(results: Results, previous: Results): string[] {
  return compareRows(results, previous).map(
    ({ row, before, change }) =>
      `${row.device} ${row.workload}: ${before} -> ${row.iops} IOPS (${change >= 0 ? '+' : ''}${(change * 100).toFixed(1)} %)`,
  );
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A bar of a chart: its label, its value and its CSS class (the series it belongs to). */
interface Bar {
  readonly value: number;
  readonly series: string;
  readonly title: string;
}

/** A group of bars side by side (one workload), under a label. */
interface Group {
  readonly label: string;
  readonly bars: readonly Bar[];
}

const BAR = 14;
const GAP = 10;
const CHART_HEIGHT = 180;
const LABEL_HEIGHT = 70;

/** A bar chart as inline SVG: groups of bars on a shared linear scale from 0. */
function barChart(groups: readonly Group[], unit: string): string {
  const max = Math.max(1, ...groups.flatMap((group) => group.bars.map((bar) => bar.value)));
  let x = GAP;
  const parts: string[] = [];
  for (const group of groups) {
    const start = x;
    for (const bar of group.bars) {
      const height = Math.max(1, Math.round((bar.value / max) * CHART_HEIGHT));
      parts.push(
        `<rect class="${bar.series}" x="${x}" y="${CHART_HEIGHT - height}" width="${BAR}" height="${height}"><title>${escapeHtml(bar.title)}: ${bar.value} ${escapeHtml(unit)}</title></rect>`,
      );
      x += BAR;
    }
    const middle = (start + x) / 2;
    parts.push(
      `<text class="label" x="${middle}" y="${CHART_HEIGHT + 12}" transform="rotate(30 ${middle} ${CHART_HEIGHT + 12})">${escapeHtml(group.label)}</text>`,
    );
    x += GAP;
  }
  const width = x + GAP;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${CHART_HEIGHT + LABEL_HEIGHT}" role="img"><text class="axis" x="${width - 4}" y="12" text-anchor="end">max ${max} ${escapeHtml(unit)}</text>${parts.join('')}</svg>`;
}

/** Stacked bars (user over kernel) for server CPU per I/O, one per row. */
function cpuChart(rows: readonly ResultRow[]): string {
  const max = Math.max(1, ...rows.map((row) => row.server_cpu_us_per_io));
  const parts: string[] = [];
  let x = GAP;
  for (const row of rows) {
    const total = Math.max(1, Math.round((row.server_cpu_us_per_io / max) * CHART_HEIGHT));
    const user = Math.round((row.server_user_us_per_io / max) * CHART_HEIGHT);
    const kernel = row.server_cpu_us_per_io - row.server_user_us_per_io;
    parts.push(
      `<rect class="kernel" x="${x}" y="${CHART_HEIGHT - total}" width="${BAR}" height="${total - user}"><title>${escapeHtml(key(row))}: kernel ${kernel.toFixed(2)} µs</title></rect>`,
      `<rect class="user" x="${x}" y="${CHART_HEIGHT - user}" width="${BAR}" height="${user}"><title>${escapeHtml(key(row))}: user ${row.server_user_us_per_io} µs</title></rect>`,
      `<text class="label" x="${x + BAR / 2}" y="${CHART_HEIGHT + 12}" transform="rotate(30 ${x + BAR / 2} ${CHART_HEIGHT + 12})">${escapeHtml(key(row))}</text>`,
    );
    x += BAR + GAP;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${x + 220}" height="${CHART_HEIGHT + 140}" role="img"><text class="axis" x="4" y="12">max ${max} µs per I/O</text>${parts.join('')}</svg>`;
}

const STYLE = `body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;font-size:0.9em}
td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}th{background:#eee}td:first-child,td:nth-child(2){text-align:left}
svg{display:block;margin:1em 0}.label{font-size:10px}.axis{font-size:11px;fill:#555}
.tsublk{fill:#2b6cb0}.anchor{fill:#a0aec0}.previous{fill:#90cdf4}.user{fill:#dd6b20}.kernel{fill:#718096}.enters{fill:#38a169}
.slower td{background:#fed7d7}
.key span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:middle}`;

/** report.html: the header, then per device IOPS beside the anchor (and the previous run), latency, CPU, I/Os per enter. */
export function reportHtml(results: Results, previous?: Results): string {
  const devices = [...new Set(results.rows.map((row) => row.device))];
  const before = new Map((previous?.rows ?? []).map((row) => [key(row), row.iops]));
  const sections = devices.map((device) => {
    const rows = results.rows.filter((row) => row.device === device);
    const groups: Group[] = rows.map((row) => {
      const old = before.get(key(row));
      return {
        label: row.workload,
        bars: [
          { value: row.iops, series: 'tsublk', title: `${device} ${row.workload}` },
          ...(old === undefined
            ? []
            : [{ value: old, series: 'previous', title: `${device} ${row.workload}, previous run` }]),
          { value: row.anchor_iops, series: 'anchor', title: `${row.anchor} ${row.workload}` },
        ],
      };
    });
    return `<h2>${escapeHtml(device)} against ${escapeHtml(rows[0]?.anchor ?? '')}</h2>${barChart(groups, 'IOPS')}`;
  });
  const table = results.rows
    .map((row) => {
      const old = before.get(key(row));
      const ratio = old === undefined || old <= 0 ? null : row.iops / old - 1;
      const change = ratio === null ? '' : `${ratio >= 0 ? '+' : ''}${(ratio * 100).toFixed(1)} %`;
      const cells = [
        row.device,
        row.workload,
        row.iops,
        row.anchor_iops,
        row.ratio.toFixed(2),
        row.server_cpu_us_per_io.toFixed(2),
        row.server_user_us_per_io.toFixed(2),
        row.ios_per_enter.toFixed(1),
        row.lat_mean_us,
        row.lat_p50_us ?? '',
        row.lat_p99_us,
        row.lat_p999_us ?? '',
        change,
      ];
      // A row slower than in the earlier run stands out.
      const marked = ratio !== null && ratio < 0 ? ' class="slower"' : '';
      return `<tr${marked}>${cells.map((cell) => `<td>${escapeHtml(String(cell))}</td>`).join('')}</tr>`;
    })
    .join('\n');
  const enters: Group[] = results.rows.map((row) => ({
    label: key(row),
    bars: [{ value: row.ios_per_enter, series: 'enters', title: key(row) }],
  }));
  const header = [
    `Linux ${results.kernel}`,
    `${results.cpus ?? '?'} CPUs`,
    `accel ${results.accel ?? '?'}`,
    `placement ${results.placement}`,
    results.runs === undefined
      ? ''
      : `median of ${results.runs} runs of ${results.seconds ?? '?'} s${results.warmup ? ` after ${results.warmup} s warm-up` : ''}`,
  ].filter((part) => part !== '');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>tsublk benchmark, Linux ${escapeHtml(results.kernel)}</title><style>${STYLE}</style></head>
<body>
<h1>tsublk benchmark</h1>
<p>${header.map(escapeHtml).join(' · ')}</p>
<p class="key"><span class="tsublk" style="background:#2b6cb0"></span>tsublk${previous === undefined ? '' : '<span style="background:#90cdf4"></span>previous run'}<span style="background:#a0aec0"></span>the kernel's own device (anchor)</p>
${sections.join('\n')}
<h2>Every row</h2>
<table><tr><th>device</th><th>workload</th><th>IOPS</th><th>anchor IOPS</th><th>ratio</th><th>server CPU µs/IO</th><th>of it user</th><th>I/Os per enter</th><th>lat mean µs</th><th>p50</th><th>p99</th><th>p99.9</th><th>vs previous</th></tr>
${table}
</table>
<h2>Server CPU per I/O</h2>
<p class="key"><span style="background:#dd6b20"></span>user space<span style="background:#718096"></span>kernel, in tsublk's threads</p>
${cpuChart(results.rows)}
<h2>I/Os per io_uring_enter</h2>
${barChart(enters, 'I/Os per enter')}
</body></html>
`;
}
