import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/** An error the VM harness reports as one line to the user, with no stack trace. */
export class VmError extends Error {
  override name = 'VmError';
}

// sbin folders are searched too: a non-root user's PATH often lacks them (depmod lives there).
const extraDirs = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/** The absolute path of an executable found in PATH (or an sbin folder), or null. */
export function findExecutable(name: string): string | null {
  const dirs = [...(process.env['PATH'] ?? '').split(':').filter(Boolean), ...extraDirs];
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return null;
}

/**
 * Runs a program to completion and returns its stdout; a failure throws with its stderr.
 * `meter`: its stdout goes to this process's stderr instead (returning ''), so that a tool that
 * draws its own progress on a terminal (apt's download meter) draws it on ours.
 */
export function runTool(
  program: string,
  args: readonly string[],
  options: { cwd?: string; input?: string; meter?: boolean } = {},
): string {
  const executable = findExecutable(program) ?? program;
  const result = spawnSync(executable, args, {
    cwd: options.cwd,
    input: options.input,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    ...(options.meter === true ? { stdio: [options.input === undefined ? 'ignore' : 'pipe', 2, 'pipe'] } : {}),
  });
  if (result.error) throw new VmError(`${program}: ${result.error.message}`);
  if (result.status !== 0) {
    const detail = (result.stderr || result.stdout).trim().split('\n').slice(-5).join('\n  ');
    throw new VmError(`${program} ${args.join(' ')} failed (exit ${result.status ?? result.signal}):\n  ${detail}`);
  }
  return result.stdout ?? '';
}

/** Like runTool, but returns raw bytes (for decompressing kernel modules). */
export function runToolBytes(program: string, args: readonly string[]): Buffer {
  const result = spawnSync(findExecutable(program) ?? program, args, { maxBuffer: 1024 * 1024 * 1024 });
  if (result.error) throw new VmError(`${program}: ${result.error.message}`);
  if (result.status !== 0) throw new VmError(`${program} ${args.join(' ')} failed: ${result.stderr.toString().trim()}`);
  return result.stdout;
}
