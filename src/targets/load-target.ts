// The code of the targets tsublk ships, loaded by name where a device is served (the daemon and
// its queue workers). Apart from registry.ts so that the CLI's bundles, which need the targets'
// options only, carry none of it (npm run build bundles what a module imports, lazy or not).
import type { AnyTarget } from '../blk/target.js';
import { type BuiltinTargetName, isBuiltinTarget, loadModuleTarget } from './registry.js';

/** Each built-in target's code, loaded only when it is served. */
const builtinTargets: Readonly<Record<BuiltinTargetName, () => Promise<AnyTarget>>> = {
  null: async () => (await import('./null.js')).nullTarget,
  memory: async () => (await import('./memory.js')).memoryTarget,
  loop: async () => (await import('./loop/target.js')).loopTarget,
  nbd: async () => (await import('./nbd/target.js')).nbdTarget,
};

/** The target named by `-t`: a built-in, or the default export of a module file. */
export async function loadTarget(name: string): Promise<AnyTarget> {
  return isBuiltinTarget(name) ? builtinTargets[name]() : loadModuleTarget(name);
}
