/**
 * A target's named counters: the names `stats` and `list -v` show, and each one's slot in the
 * array the queue publishes, so a target writes `out[at.reads] = hw.reads`, never `out[0]`.
 *
 * ```ts
 * const counters = counterTable(['reads', 'writes']);
 * // statistics: { names: counters.names, read(hw, out) { out[counters.at.reads] = hw.reads; … } }
 * ```
 */
export interface CounterTable<Name extends string> {
  readonly names: readonly Name[];
  readonly at: { readonly [N in Name]: number };
}

export function counterTable<const Name extends string>(names: readonly Name[]): CounterTable<Name> {
  if (new Set(names).size !== names.length) throw new Error(`counter names repeat: ${names.join(', ')}`);
  return {
    names,
    at: Object.fromEntries(names.map((name, index) => [name, index])) as { readonly [N in Name]: number },
  };
}
