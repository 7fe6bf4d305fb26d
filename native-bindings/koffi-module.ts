// Koffi, opened the short way where we can. Koffi's package entry spends ~0.14 s of a TCG guest's
// start before its own 30 ms dlopen (bench:start): Node resolves the package's exports map,
// koffi's loader runs, and its platform package reads node's ELF header to choose a glibc or musl
// build. Every tsublk process and queue thread paid that. On linux-x64 we open the glibc build of
// the same native module directly (it is what that loader picks there); on any other platform,
// or where the direct open fails (musl), koffi's own entry does it all.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as KoffiApi from 'koffi';

export type Koffi = typeof KoffiApi;

const requireHere = createRequire(import.meta.url);

/** The prebuilt glibc x64 module of Koffi's platform package, searched as `require` would search. */
function openNativeModule(): Koffi | undefined {
  if (process.platform !== 'linux' || process.arch !== 'x64') return undefined;
  for (const dir of requireHere.resolve.paths('koffi') ?? []) {
    const file = `${dir}/@koromix/koffi-linux-x64/linux_x64/koffi.node`;
    if (!existsSync(file)) continue;
    const module: { exports: Record<string, unknown> } = { exports: {} };
    try {
      process.dlopen(module, file);
    } catch {
      return undefined; // not loadable here (a musl system): koffi's loader knows what is
    }
    // SAFETY: what Koffi's entry re-exports is this module's exports (koffi/index.cjs).
    return typeof module.exports['load'] === 'function' ? (module.exports as unknown as Koffi) : undefined;
  }
  return undefined;
}

const direct = openNativeModule();

export const koffi: Koffi = direct ?? (requireHere('koffi') as Koffi);

/** How Koffi was opened here: its native module directly, or through its package entry. */
export const koffiOpenedBy: 'native module' | 'package entry' =
  direct === undefined ? 'package entry' : 'native module';
