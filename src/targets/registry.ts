import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { OptionValues, CommonSettings, TargetPlan, TargetPlanner } from '../blk/target-plan.js';
import { loopPlanner } from './loop/options.js';
import { nbdPlanner } from './nbd/options.js';
import { memoryPlanner } from './memory-options.js';
import { nullPlanner } from './null-options.js';
import type { AnyTarget } from '../blk/target.js';
import { importModule } from '../import-module.js';

/** A target tsublk ships: its options and plan (light), and its code, loaded only when served. */
interface BuiltinTarget {
  readonly planner: TargetPlanner;
  readonly load: () => Promise<AnyTarget>;
}

/**
 * The targets tsublk ships, by name: `add` checks a name and its options without loading any
 * target code (or the FFI that target code loads). A new target adds one line here.
 */
const builtinTargets: Readonly<Record<string, BuiltinTarget>> = {
  null: { planner: nullPlanner, load: async () => (await import('./null.js')).nullTarget },
  memory: { planner: memoryPlanner, load: async () => (await import('./memory.js')).memoryTarget },
  loop: { planner: loopPlanner, load: async () => (await import('./loop/target.js')).loopTarget },
  nbd: { planner: nbdPlanner, load: async () => (await import('./nbd/target.js')).nbdTarget },
};

/** Every built-in target's options and plan. */
export function builtinPlanners(): readonly TargetPlanner[] {
  return Object.values(builtinTargets).map((target) => target.planner);
}

/** A built-in target's options and plan, by name (undefined for a module or an unknown name). */
export function builtinPlanner(name: string): TargetPlanner | undefined {
  return builtinTargets[name]?.planner;
}

/** The size of a module target's device left without --size. */
const MODULE_DEFAULT_SIZE = 250 * 2 ** 30;

/** A module target's options and plan: its own `options` and `plan`, or none and the given values as they are. */
export function modulePlanner(target: AnyTarget, file: string): TargetPlanner {
  const plan = (values: OptionValues, common: CommonSettings): TargetPlan =>
    target.plan?.(values, common) ?? {
      config: {
        sizeBytes: common.sizeBytes ?? MODULE_DEFAULT_SIZE,
        logicalBlockSize: common.logicalBlockSize,
        ...values,
      },
    };
  return { name: target.name, heading: `${target.name} target (${file}):`, options: target.options ?? [], plan };
}

/** True when `-t` names a module file (a target of the user's own) rather than a built-in. */
export function isTargetModule(name: string): boolean {
  return name.includes('/') || /\.[cm]?js$/.test(name);
}

/**
 * Checks `-t` without loading anything: a built-in name, or an existing module file (returned
 * as an absolute path, so the daemon and its workers find it from any directory).
 */
export function resolveTargetName(name: string): string {
  if (isTargetModule(name)) {
    const file = path.resolve(name);
    if (!existsSync(file))
      throw new Error(
        `target module ${file} does not exist: give the path of a .js file whose default export is a Target`,
      );
    return file;
  }
  if (builtinTargets[name] === undefined)
    throw new Error(
      `unknown target '${name}': use ${Object.keys(builtinTargets).join(' or ')}, or the path of a target module`,
    );
  return name;
}

function isTarget(value: unknown): value is AnyTarget {
  return typeof (value as Partial<AnyTarget> | undefined)?.operations?.queueRq === 'function';
}

/** The target named by `-t`: a built-in, or the default export of a module file. */
export async function loadTarget(name: string): Promise<AnyTarget> {
  const builtin = builtinTargets[name];
  if (builtin !== undefined) return builtin.load();
  const module = (await importModule(pathToFileURL(resolveTargetName(name)).href)) as { default?: unknown };
  // A module compiled to CommonJS (tsc's `export default` sets exports.default) arrives with its
  // exports object as the default: the Target is one level further down.
  const target = isTarget(module.default)
    ? module.default
    : isTarget((module.default as { default?: unknown } | undefined)?.default)
      ? (module.default as { default: AnyTarget }).default
      : undefined;
  if (target === undefined) throw new Error(`${name} has no default export that is a Target (with operations.queueRq)`);
  return target;
}
