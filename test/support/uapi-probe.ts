import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { UapiCheck } from '../../native-bindings/uapi-check.js';

/** What the C compiler says about each check: its value, or null where the guard macro is absent. */
export interface ProbeResult {
  readonly headerVersion: string;
  readonly values: ReadonlyArray<bigint | null>;
}

/** A C program printing every check's value (or "absent"), one line per check, in order. */
export function probeProgram(checks: readonly UapiCheck[]): string {
  const lines = [
    '#include <stddef.h>',
    '#include <stdio.h>',
    '#include <errno.h>',
    '#include <sys/uio.h>',
    '#include <linux/version.h>',
    '#include <linux/time_types.h>',
    '#include <linux/io_uring.h>',
    '#include <linux/ublk_cmd.h>',
    '#include <linux/blkzoned.h>',
    'int main(void) {',
    '  printf("%d.%d\\n", LINUX_VERSION_CODE >> 16, (LINUX_VERSION_CODE >> 8) & 0xff);',
  ];
  checks.forEach((check, index) => {
    const print = `  printf("${index} %lld\\n", (long long)(${check.expression}));`;
    lines.push(
      check.guard === undefined
        ? print
        : `#ifdef ${check.guard}\n${print}\n#else\n  printf("${index} absent\\n");\n#endif`,
    );
  });
  lines.push('  return 0;', '}');
  return lines.join('\n') + '\n';
}

/** Compiles and runs the probe against the headers extracted under `headersRoot`. */
export function runProbe(checks: readonly UapiCheck[], headersRoot: string): ProbeResult {
  const dir = mkdtempSync(path.join(tmpdir(), 'tsublk-uapi-'));
  try {
    const source = path.join(dir, 'probe.c');
    const binary = path.join(dir, 'probe');
    writeFileSync(source, probeProgram(checks));
    const include = path.join(headersRoot, 'usr', 'include');
    // The suite's headers come first, so <linux/…> and <asm/…> are theirs, not the host's.
    execFileSync('gcc', [
      '-std=gnu11',
      '-Wall',
      '-Werror',
      '-I',
      include,
      '-I',
      path.join(include, 'x86_64-linux-gnu'),
      '-o',
      binary,
      source,
    ]);
    const [headerVersion = '', ...rest] = execFileSync(binary, { encoding: 'utf8' }).trim().split('\n');
    const values = rest.map((line) => {
      const value = line.split(' ')[1] ?? '';
      return value === 'absent' ? null : BigInt(value);
    });
    return { headerVersion, values };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function versionNumber(version: string): number {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major * 1000 + minor;
}

/** The mismatches between the mirror and the headers, as readable lines (empty: all agree). */
export function compareWithHeaders(checks: readonly UapiCheck[], probe: ProbeResult): string[] {
  const problems: string[] = [];
  checks.forEach((check, index) => {
    const actual = probe.values[index];
    if (actual === undefined) {
      problems.push(`${check.expression}: no output from the probe`);
    } else if (actual === null) {
      // Only something newer than these headers may be missing from them.
      const since = check.since;
      const newer =
        since !== undefined &&
        (since.startsWith('after ')
          ? versionNumber(since.slice(6)) >= versionNumber(probe.headerVersion)
          : versionNumber(since) > versionNumber(probe.headerVersion));
      if (!newer) problems.push(`${check.expression}: absent from the ${probe.headerVersion} headers`);
    } else if (actual !== BigInt(check.expected)) {
      problems.push(`${check.expression}: C says ${actual}, the mirror says ${check.expected}`);
    }
  });
  return problems;
}
