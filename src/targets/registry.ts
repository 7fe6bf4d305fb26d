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

/**
 * The targets tsublk ships, by name, with their options and plan: `add` checks a name and its
 * options without any target code (or the FFI that target code loads). Their code is in
 * load-target.ts, which only the daemon and its queue workers import: the CLI's bundles carry
 * none of it. A new target adds one line here and one there (the compiler asks for it).
 */
const builtinPlannersByName = {
  null: nullPlanner,
  memory: memoryPlanner,
  loop: loopPlanner,
  nbd: nbdPlanner,
} as const satisfies Readonly<Record<string, TargetPlanner>>;

/** The name of a target tsublk ships. */
export type BuiltinTargetName = keyof typeof builtinPlannersByName;

/** True when `name` is a target tsublk ships. */
export function isBuiltinTarget(name: string): name is BuiltinTargetName {
  return Object.hasOwn(builtinPlannersByName, name);
}

/** Every built-in target's options and plan. */
export function builtinPlanners(): readonly TargetPlanner[] {
  return Object.values(builtinPlannersByName);
}

/** A built-in target's options and plan, by name (undefined for a module or an unknown name). */
export function builtinPlanner(name: string): TargetPlanner | undefined {
  return isBuiltinTarget(name) ? builtinPlannersByName[name] : undefined;
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
  if (!isBuiltinTarget(name))
    throw new Error(
      `unknown target '${name}': use ${Object.keys(builtinPlannersByName).join(' or ')}, or the path of a target module`,
    );
  return name;
}

function isTarget(value: unknown): value is AnyTarget {
  return typeof (value as Partial<AnyTarget> | undefined)?.operations?.queueRq === 'function';
}

/** A target module's Target (`-t ./x.js`): the default export of the file `name` names. */
export async function loadModuleTarget(name: string): Promise<AnyTarget> {
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
