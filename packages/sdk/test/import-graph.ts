/**
 * The relative imports between a package's source files, and the loops among them. Written for
 * any package (give it the `src` directory), so other packages can hold themselves to the same
 * rule: no module imports, even for types only, something that imports it back.
 *
 * Type-only loops count. They cost nothing at run time, but they mean two modules cannot be read,
 * moved or split one without the other, which is what a loop is a sign of in the first place.
 *
 * Imports are read with TypeScript's own pre-processor (`ts.preProcessFile`), which sees `import`,
 * `import type`, `export … from`, `import()` calls and `import("…")` types, and skips comments and
 * strings, so a JSDoc example that imports the package is not mistaken for an import.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import ts from 'typescript'

export interface ImportGraphOptions {
  /**
   * Which files under the root are part of the graph (paths relative to the root, with `/`).
   * @default every .ts/.tsx/.mts/.cts file that is not a test (`*.test.ts`, `*.test-d.ts`) nor a declaration
   */
  include?: (path: string) => boolean
}

/** Source files the graph is made of, unless the caller says otherwise. */
const SOURCE = /\.(?:ts|tsx|mts|cts)$/
const NOT_SOURCE = /\.d\.[cm]?ts$|\.test(?:-d)?\.[cm]?tsx?$/

/** `./x.js` names `x.ts` under NodeNext; bundler-style `./x` names `x.ts` or `x/index.ts`. */
const CANDIDATES: readonly [RegExp, readonly string[]][] = [
  [/\.js$/, ['.ts', '.tsx']],
  [/\.jsx$/, ['.tsx']],
  [/\.mjs$/, ['.mts']],
  [/\.cjs$/, ['.cts']],
  [/$/, ['', '.ts', '.tsx', '/index.ts', '/index.tsx']],
]

function defaultInclude(path: string): boolean {
  return SOURCE.test(path) && !NOT_SOURCE.test(path)
}

/**
 * Every included file under `rootDir`, mapped to the included files it imports (relative paths,
 * `/`-separated, sorted). An import that leaves the root or names a file that is not included
 * (JSON, a test helper) is no edge. A relative import that names no file at all throws: a graph
 * with a hole in it could hide a loop.
 */
export function importGraph(rootDir: string, opts: ImportGraphOptions = {}): Map<string, string[]> {
  const root = resolve(rootDir)
  const include = opts.include ?? defaultInclude
  const files = readdirSync(root, { recursive: true, encoding: 'utf8' })
    .map((name) => name.split('\\').join('/'))
    .filter((name) => include(name) && statSync(join(root, name)).isFile())
    .sort()
  const known = new Set(files)
  const graph = new Map<string, string[]>()
  for (const file of files) {
    const { importedFiles } = ts.preProcessFile(readFileSync(join(root, file), 'utf8'), true, true)
    const targets = new Set<string>()
    for (const { fileName: specifier } of importedFiles) {
      if (!specifier.startsWith('./') && !specifier.startsWith('../')) continue
      const target = resolveSpecifier(join(root, dirname(file)), specifier)
      if (target === undefined) throw new Error(`${file}: cannot resolve the import of ${specifier}`)
      const name = relative(root, target).split('\\').join('/')
      if (known.has(name)) targets.add(name)
    }
    graph.set(file, [...targets].sort())
  }
  return graph
}

function resolveSpecifier(fromDir: string, specifier: string): string | undefined {
  const base = resolve(fromDir, specifier)
  for (const [extension, replacements] of CANDIDATES) {
    if (!extension.test(base)) continue
    for (const replacement of replacements) {
      const candidate = base.replace(extension, replacement)
      if (existsSync(candidate) && statSync(candidate).isFile()) return candidate
    }
  }
  return undefined
}

/**
 * The import loops under `rootDir`, each as the files around it with the first one repeated at
 * the end (`['a.ts', 'b.ts', 'a.ts']`), starting from its alphabetically first file. Empty when
 * there are none. Each loop that closes a depth-first walk is reported once; fixing those and
 * running again shows any that shared their edges.
 *
 * @example
 * expect(findImportCycles(fileURLToPath(new URL('../src', import.meta.url)))).toEqual([])
 */
export function findImportCycles(rootDir: string, opts: ImportGraphOptions = {}): string[][] {
  const graph = importGraph(rootDir, opts)
  const done = new Set<string>()
  const stack: string[] = []
  const found = new Map<string, string[]>()

  function visit(file: string) {
    stack.push(file)
    for (const next of graph.get(file) ?? []) {
      const at = stack.indexOf(next)
      if (at !== -1) {
        const cycle = normalised(stack.slice(at))
        found.set(cycle.join(' → '), cycle)
      } else if (!done.has(next)) visit(next)
    }
    stack.pop()
    done.add(file)
  }

  for (const file of graph.keys()) if (!done.has(file)) visit(file)
  return [...found.values()].sort((a, b) => a.join().localeCompare(b.join()))
}

/** The loop rotated to start at its first file by name, closed by repeating that file. */
function normalised(loop: string[]): string[] {
  const first = loop.reduce((min, file) => (file < min ? file : min))
  const at = loop.indexOf(first)
  const rotated = [...loop.slice(at), ...loop.slice(0, at)]
  return [...rotated, first]
}
