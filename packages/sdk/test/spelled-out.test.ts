/**
 * `SpelledOut` against the compiler that emits the SDK's declarations: a type built from another
 * package's declarations must come out as literals, never as `import("that-package").Name`.
 * The other package here stands in for @gatehouse/auth, whose `AuditEntry` declared
 * `event: AuditEventName` and so leaked into `dist/router.d.ts` (TypeScript reuses a property's
 * annotation when its type is the property's type).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const SOURCE = fileURLToPath(new URL('../src/internal/spelled-out.ts', import.meta.url))

const SERVER_TYPES = `export declare const EVENTS: readonly ['login.succeeded', 'login.failed'];
export type EventName = (typeof EVENTS)[number];
export type Scope = 'scope.read' | 'scope.write';
export interface Entry {
  event: EventName;
  history: EventName[];
  scope?: Scope;
  pair: readonly [EventName, Scope];
  detail: Record<string, unknown>;
  byScope: { [scope: string]: Scope[] };
}
`

let dir: string

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-spelled-out-'))
  const pkg = join(dir, 'node_modules', 'server-types')
  mkdirSync(pkg, { recursive: true })
  writeFileSync(
    join(pkg, 'package.json'),
    JSON.stringify({ name: 'server-types', type: 'module', types: 'index.d.ts' }),
  )
  writeFileSync(join(pkg, 'index.d.ts'), SERVER_TYPES)
  mkdirSync(join(dir, 'src'))
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'emit', private: true, type: 'module' }))
  writeFileSync(join(dir, 'src', 'spelled-out.ts'), readFileSync(SOURCE, 'utf8'))
})

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true })
})

/** The `.d.ts` tsc emits for `source`, compiled beside spelled-out.ts. */
function declarationsOf(source: string): string {
  const file = join(dir, 'src', 'shape.ts')
  writeFileSync(file, source)
  const options: ts.CompilerOptions = {
    strict: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    declaration: true,
    emitDeclarationOnly: true,
    types: [],
  }
  const program = ts.createProgram([file], options)
  const problems = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'))
  expect(problems).toEqual([])
  let emitted = ''
  program.emit(program.getSourceFile(file), (name, text) => {
    if (name.endsWith('shape.d.ts')) emitted = text
  })
  return emitted
}

describe('SpelledOut in emitted declarations', () => {
  it('spells out properties annotated with another package’s aliases, in objects, arrays, tuples and records', () => {
    const dts = declarationsOf(`import type { Entry } from 'server-types'
import { spelledOut } from './spelled-out.js'
export const SHAPE = spelledOut<{ list: { output: { items: Entry[]; nextCursor: number | null } } }>()
`)
    expect(dts).toBe(`export declare const SHAPE: {
    list: {
        output: {
            items: {
                event: "login.succeeded" | "login.failed";
                history: ("login.succeeded" | "login.failed")[];
                scope?: "scope.read" | "scope.write" | undefined;
                pair: readonly ["login.succeeded" | "login.failed", "scope.read" | "scope.write"];
                detail: {
                    [x: string]: unknown;
                };
                byScope: {
                    [x: string]: ("scope.read" | "scope.write")[];
                };
            }[];
            nextCursor: number | null;
        };
    };
};
`)
  })

  it('is needed: a plain mapped type lets the compiler copy the annotations, imports and all', () => {
    const dts = declarationsOf(`import type { Entry } from 'server-types'
type Plain<T> = T extends object ? { [K in keyof T]: Plain<T[K]> } : T
declare function plain<T>(): Plain<T>
export const SHAPE = plain<Entry>()
`)
    expect(dts).toContain('event: import("server-types").EventName;')
  })
})
