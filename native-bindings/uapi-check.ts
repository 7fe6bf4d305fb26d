// What the layout test compares against the kernel's C headers: every mirrored size, offset and
// constant, as a C expression and the value the TypeScript mirror holds for it.

/** One mirrored fact: a C expression (sizeof, offsetof, a macro) and the value we use. */
export interface UapiCheck {
  readonly expression: string;
  readonly expected: number;
  /** A macro that exists only where the fact does; the check is skipped in headers without it. */
  readonly guard?: string;
  /** The first kernel whose headers have it, `6.13` or `after 6.12`: older headers may lack it, no others. */
  readonly since?: string;
}

/** A struct mirror: its size and its members' byte offsets, named exactly as in C. */
export type StructLayout = { readonly size: number } & Readonly<Record<string, number>>;

/** Newer members of a struct: member (or `size`) → the guard macro and the first kernel with it. */
export type NewerMembers = Readonly<Record<string, { readonly guard: string; readonly since: string }>>;

export function structChecks(
  cType: string,
  layout: StructLayout,
  newer: NewerMembers = {},
  whole?: { readonly guard: string; readonly since: string },
): UapiCheck[] {
  return Object.entries(layout).map(([member, expected]) => {
    const gate = newer[member] ?? whole;
    return {
      expression: member === 'size' ? `sizeof(${cType})` : `offsetof(${cType}, ${member})`,
      expected,
      ...(gate === undefined ? {} : { guard: gate.guard, since: gate.since }),
    };
  });
}

/**
 * Constants named PREFIX + key. `macro`s are checked only where #defined (so an older header may
 * lack those marked `since`); `enum` values cannot be tested with #ifdef and must always exist.
 */
export function constantChecks(
  prefix: string,
  values: Readonly<Record<string, number>>,
  kind: 'macro' | 'enum',
  since: Readonly<Record<string, string>> = {},
): UapiCheck[] {
  return Object.entries(values).map(([key, expected]) => {
    const name = prefix + key;
    const introduced = since[key];
    return {
      expression: name,
      expected,
      ...(kind === 'macro' ? { guard: name } : {}),
      ...(introduced === undefined ? {} : { since: introduced }),
    };
  });
}
