import { nullTarget } from './null.js';
import type { AnyTarget } from './target.js';

/** Every target by name: the CLI validates `-t` against it and queue workers load from it. */
export const targets: Readonly<Record<string, AnyTarget>> = {
  null: nullTarget,
};

export function targetNamed(name: string): AnyTarget {
  const target = targets[name];
  if (target === undefined) throw new Error(`unknown target '${name}': use ${Object.keys(targets).join(' or ')}`);
  return target;
}
