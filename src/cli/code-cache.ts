// V8's code cache for the bundles (dist/bundle/cli): a start reads the bytecode V8 compiled the
// last time instead of parsing and compiling ~100 KB of JavaScript again. Node 20 has no compile
// cache of its own (module.enableCompileCache came in 22.1), so this wraps the CommonJS loader's
// compile step for the bundle's files, as v8-compile-cache once did. Measured in the TCG guest:
// `tsublk --help` 440-490 ms without it, 350-400 ms with it (a bare `node -e 0`: 310-340 ms).
//
// Each process and thread of tsublk installs it before it loads a bundle (bin/tsublk, the
// daemon's `--require`, the queue worker's stub) and saves what it compiled once its work is done
// (saveCodeCache), into `<bundle>.v8cache` beside the bundle; a cache that cannot be written (a
// read-only or root-owned install) is left unwritten, and a start without one compiles as before.
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import path from 'node:path';
import { Script } from 'node:vm';

/** The header of a cache file: the bundle's size and mtime when it was made (two doubles). */
const HEADER_BYTES = 16;
/** Where an installed cache keeps what the bundled code asks of it (each bundle has its own copy of this module). */
const INSTALLED_KEY = Symbol.for('tsublk.codeCache');
/** The file a process or thread requires (node --require, a worker's stub) to install the cache. */
const INSTALLER = 'code-cache-install.js';

interface Installed {
  readonly save: () => void;
  /** The installer's path, for the processes and threads this one starts. */
  readonly installer: string;
}

function installed(): Installed | undefined {
  return (globalThis as { [INSTALLED_KEY]?: Installed })[INSTALLED_KEY];
}

interface Compiled {
  readonly file: string;
  readonly script: Script;
  readonly size: number;
  readonly mtimeMs: number;
}

/** What this process or thread compiled without a usable cache: saved by saveCodeCache. */
const unsaved: Compiled[] = [];

function cacheFile(file: string): string {
  return `${file}.v8cache`;
}

/**
 * The cached bytecode of `file` if it was made from this very build of it. V8 itself checks only
 * the source's length, so the header's size and mtime are what keep a rebuilt bundle from
 * running stale bytecode.
 */
function readCache(file: string, size: number, mtimeMs: number): Buffer | undefined {
  try {
    const data = readFileSync(cacheFile(file));
    if (data.length > HEADER_BYTES && data.readDoubleLE(0) === size && data.readDoubleLE(8) === mtimeMs)
      return data.subarray(HEADER_BYTES);
  } catch {
    // No cache yet, or none readable: compile from source.
  }
  return undefined;
}

/** Writes the bytecode of every script compiled without a cache; what cannot be written is skipped. */
function save(): void {
  for (const { file, script, size, mtimeMs } of unsaved.splice(0)) {
    try {
      const header = Buffer.alloc(HEADER_BYTES);
      header.writeDoubleLE(size, 0);
      header.writeDoubleLE(mtimeMs, 8);
      // A temporary name, then rename: a process reading the cache meanwhile sees all of it or none.
      const temporary = `${cacheFile(file)}.${process.pid}.${Math.random().toString(36).slice(2)}`;
      writeFileSync(temporary, Buffer.concat([header, script.createCachedData()]));
      renameSync(temporary, cacheFile(file));
    } catch {
      // A read-only or root-owned install: starts compile from source, as without a cache.
    }
  }
}

/** Saves what this process or thread compiled so far, where a cache is installed; otherwise nothing. */
export function saveCodeCache(): void {
  installed()?.save();
}

/**
 * The installer a process that runs the bundles in `folder` installs (bin/tsublk, before it has):
 * null with source maps on, when installCodeCache does nothing.
 */
export function codeCacheInstallerIn(folder: string): string | null {
  return process.sourceMapsEnabled ? null : path.join(folder, INSTALLER);
}

/** The installer's path where this process or thread runs with the cache: its children should too. */
export function codeCacheInstaller(): string | null {
  return installed()?.installer ?? null;
}

/**
 * Compiles the CommonJS files of `folder` (not below it) through the code cache from now on.
 * With source maps on (--enable-source-maps) it does nothing: Node maps stacks only for the
 * files its own loader compiled.
 */
export function installCodeCache(folder: string): void {
  const installer = codeCacheInstallerIn(folder);
  if (installer === null) return;
  type Compile = (this: Module, content: string, filename: string, format?: string) => unknown;
  const prototype = Module.prototype as unknown as { _compile: Compile };
  const compile = prototype._compile;
  prototype._compile = function (this: Module, content: string, filename: string, format?: string): unknown {
    if (format === 'module' || path.dirname(filename) !== folder) return compile.call(this, content, filename, format);
    const { size, mtimeMs } = statSync(filename);
    const cachedData = readCache(filename, size, mtimeMs);
    // No import() works in it: a module target (-t ./x.js) is imported through import-module.ts.
    const script = new Script(Module.wrap(content), { filename, cachedData });
    if (cachedData === undefined || script.cachedDataRejected === true)
      unsaved.push({ file: filename, script, size, mtimeMs });
    const wrapper = script.runInThisContext() as (...args: unknown[]) => unknown;
    return wrapper.call(this.exports, this.exports, Module.createRequire(filename), this, filename, folder);
  };
  const state: Installed = { save, installer };
  (globalThis as { [INSTALLED_KEY]?: Installed })[INSTALLED_KEY] = state;
  // Whatever was not saved by then (a CLI command, a worker that ended early) is saved at exit.
  process.once('exit', save);
}
