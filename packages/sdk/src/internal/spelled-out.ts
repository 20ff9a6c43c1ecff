/**
 * `SpelledOut<T>`: `T` restated so that `tsc`, when it prints an inferred type into a `.d.ts`,
 * has nothing to print but literals and plain object types (see router.ts for why).
 *
 * The declaration emitter names a type instead of spelling it out in two cases, and each is
 * closed here:
 * - the type has an alias (`type EventName = …`): `T extends unknown ? { v: … } : never` then
 *   `['v']` builds every union afresh, without one;
 * - a property is declared with an annotation whose type is the same as the property's (TS 5.5+
 *   reuses the annotation's text, as `import("@gatehouse/auth").EventName`, whenever that name
 *   can be imported). A plain mapped type over `T` keeps each property's declaration; remapping
 *   the key (`as \`${K & string}\``) makes fresh properties with none, so there is no annotation
 *   left to copy. Arrays and tuples keep the plain mapping, which keeps them arrays (their
 *   elements are not declared properties), and so do records (an index signature), whose key
 *   type a remapping would change; a record that also declares properties is the one gap.
 *
 * Keys are JSON's (strings): the server's outputs have been through JSON, and its inputs are
 * zod objects.
 */

export type SpelledOut<T> = (T extends unknown ? { v: SpelledOutMember<T> } : never)['v']

type SpelledOutMember<T> = T extends (...args: never[]) => unknown
  ? T
  : T extends readonly unknown[]
    ? { [K in keyof T]: SpelledOut<T[K]> }
    : T extends object
      ? string extends keyof T
        ? { [K in keyof T]: SpelledOut<T[K]> }
        : { [K in keyof T as `${K & string}`]: SpelledOut<T[K]> }
      : T

/** A value typed `SpelledOut<T>`, so that a `const` declared with it is emitted spelled out. */
export function spelledOut<T>(): SpelledOut<T> {
  return undefined as never
}
