// Progress of a long benchmark on a terminal: "[5/24] 16% tsublk-null randread-qd1: tsublk, run
// 2 of 3 · about 3 min left", redrawn in place on stderr. Quiet where stderr is no terminal (a log
// file, CI), unless TSUBLK_PROGRESS=COLUMNS says that the terminal is the host's, that wide:
// inside the VM, stderr is a virtio pipe to the host's, and bench/run.ts passes it.

/** The terminal's width when progress is drawn (stderr's own, or the host's); null: stay quiet. */
export function progressWidth(
  stderr: { readonly isTTY?: boolean; readonly columns?: number } = process.stderr,
  env: NodeJS.ProcessEnv = process.env,
): number | null {
  if (stderr.isTTY === true) return stderr.columns ?? 80;
  const passed = Number(env['TSUBLK_PROGRESS']);
  return Number.isInteger(passed) && passed > 0 ? passed : null;
}

/** "about N min left" / "about N s left", from the pace so far; empty before the first step is done. */
export function timeLeft(done: number, total: number, elapsedMs: number): string {
  if (done === 0 || done >= total) return '';
  const leftSeconds = Math.round(((elapsedMs / done) * (total - done)) / 1000);
  return leftSeconds >= 90 ? `about ${Math.round(leftSeconds / 60)} min left` : `about ${leftSeconds} s left`;
}

/**
 * One progress line, at most `width` characters (a longer one would wrap, and \r would then
 * redraw only its last row): `[step/total] percent% label · time left`, steps counted from 1.
 */
export function progressLine(done: number, total: number, label: string, elapsedMs: number, width: number): string {
  const percent = Math.floor((done / Math.max(1, total)) * 100);
  const left = timeLeft(done, total, elapsedMs);
  const line = `[${Math.min(done + 1, total)}/${total}] ${percent}% ${label}${left === '' ? '' : ` · ${left}`}`;
  return line.length < width ? line : `${line.slice(0, Math.max(0, width - 2))}…`;
}

/** A run of `total` steps, drawn on stderr where progressWidth says so. */
export class Progress {
  private done = 0;
  private current = '';
  private readonly started = Date.now();

  constructor(
    private readonly total: number,
    private readonly width: number | null = progressWidth(),
  ) {}

  /** Step `label` begins (the one before it, if any, is done). */
  step(label: string): void {
    if (this.current !== '') this.done++;
    this.current = label;
    this.draw();
  }

  /** Writes `text` (whole lines) above the progress line. */
  print(text: string): void {
    this.erase();
    process.stderr.write(text);
    this.draw();
  }

  /** The last step is done: the line goes. */
  end(): void {
    this.erase();
    this.current = '';
  }

  private draw(): void {
    if (this.width !== null && this.current !== '') {
      const line = progressLine(this.done, this.total, this.current, Date.now() - this.started, this.width);
      process.stderr.write(`\r\x1b[K${line}`);
    }
  }

  private erase(): void {
    if (this.width !== null && this.current !== '') process.stderr.write('\r\x1b[K');
  }
}
