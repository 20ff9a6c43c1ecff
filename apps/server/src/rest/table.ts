/**
 * The REST facade's route table is data: a view is one DRF URL with its authentication family,
 * and each of its methods names the tRPC procedure it calls, where each input field comes from,
 * the success status and how the result is shaped. handler.ts interprets it; an OpenAPI document
 * can be generated from it and the procedures' zod input schemas, with nothing else to read.
 */
import type { AuthErrorCode } from '@gatehouse/auth'
import type { AnyProcedure, inferProcedureInput, inferProcedureOutput } from '@trpc/server'
import type { ZodType } from 'zod'

import type { AppRouter } from '../routers/_app.js'
import { MAX_ROW_ID } from '../kit/fields.js'

type RouterTree = AppRouter['_def']['record']

type PathsOf<R, Prefix extends string = ''> = {
  [K in keyof R & string]: R[K] extends AnyProcedure ? `${Prefix}${K}` : PathsOf<R[K], `${Prefix}${K}.`>
}[keyof R & string]

type At<R, P extends string> = P extends `${infer Head}.${infer Rest}`
  ? Head extends keyof R
    ? At<R[Head], Rest>
    : never
  : P extends keyof R
    ? R[P]
    : never

/** Every procedure by its dotted path: `auth.login`, `admin.users.get`. */
export type ProcedurePath = PathsOf<RouterTree>
type ProcedureAt<P extends ProcedurePath> = At<RouterTree, P> extends infer T extends AnyProcedure ? T : never
export type InputOf<P extends ProcedurePath> = inferProcedureInput<ProcedureAt<P>>
export type OutputOf<P extends ProcedurePath> = inferProcedureOutput<ProcedureAt<P>>
// Distributive, so a union input (`{username, codename} | {group, codename}`) offers every key.
type KeysOf<T> = T extends object ? keyof T & string : never
type PropOf<T, K extends string> = T extends Record<K, infer V> ? V : T extends Partial<Record<K, infer V>> ? V : never

/**
 * How a request value is read: DRF's field types. Strings from forms and query strings are
 * converted as DRF's fields convert them (`"12"` → 12, `"true"`/`"on"`/`"1"` → true).
 */
export type FieldType = 'string' | 'integer' | 'boolean' | 'string[]'

/** Where one input field of the procedure comes from. */
export type Source =
  | { readonly in: 'body' | 'query'; readonly name: string; readonly type: FieldType }
  | { readonly in: 'path'; readonly name: string }
  | { readonly in: 'const'; readonly value: unknown }

type SourceSpec<V> =
  | { readonly in: 'body' | 'query'; readonly name?: string; readonly type: FieldType }
  | { readonly in: 'path'; readonly name?: string }
  | { readonly in: 'const'; readonly value: V }

/** A body field; `name` defaults to the input key in snake_case (`expiresAt` → `expires_at`). */
export const body = (type: FieldType, name?: string) => ({ in: 'body', type, ...(name ? { name } : {}) }) as const
/** A query-string field (GET), named like `body`. */
export const query = (type: FieldType, name?: string) => ({ in: 'query', type, ...(name ? { name } : {}) }) as const
/** A path parameter of the view (`{id}`), typed by the view's `params`. */
export const param = (name?: string) => ({ in: 'path', ...(name ? { name } : {}) }) as const
/** A value the route always sends (code-2 login's `cookies: true`). */
export const constant = <V>(value: V) => ({ in: 'const', value }) as const

/** What the handler knows of the request when it shapes a result (paginated `next` links). */
export interface RestRequest {
  /** The absolute request URL, from the Host header. */
  url: URL
}

/** A fixed answer for one error of one route (the tutorial's own 401 bodies). */
export interface FixedReply {
  readonly status: number
  readonly body: unknown
  /** The WWW-Authenticate value, if the view sends one with this answer. */
  readonly challenge?: string
}

/** An error code a route may answer in its own words; INVALID_INPUT covers schema failures too. */
export type ErrorKey = AuthErrorCode

export interface Operation {
  readonly procedure: ProcedurePath
  /** Procedure input key → where its value comes from, in the field order errors are listed; undefined: no input. */
  readonly input: Readonly<Record<string, Source>> | undefined
  /** The success status: 200, 201 (created) or 204 (no body). */
  readonly status: number
  /** AllowAny: anonymous callers reach the procedure (security `[]` in OpenAPI). */
  readonly public: boolean
  /** The success body; undefined for a 204. */
  readonly respond: (output: never, request: RestRequest) => unknown
  /** The success body's schema as `respond` shapes it (snake_case), for the OpenAPI document. */
  readonly response: ZodType | undefined
  /** Errors this route answers with a fixed body instead of the mapped one. */
  readonly errors: Readonly<Partial<Record<ErrorKey, FixedReply>>>
  readonly summary: string
}

export interface OperationSpec<P extends ProcedurePath> {
  procedure: P
  input?: { [K in KeysOf<NonNullable<InputOf<P>>>]?: SourceSpec<PropOf<NonNullable<InputOf<P>>, K>> }
  /** @default 200 */
  status?: number
  /** @default false */
  public?: boolean
  /** @default the output with its keys in snake_case (toSnake) */
  respond?: (output: OutputOf<P>, request: RestRequest) => unknown
  /** The success body's schema, in the wire's spelling; without it OpenAPI says only "an object". */
  response?: ZodType
  errors?: Partial<Record<ErrorKey, FixedReply>>
  summary?: string
}

export function snakeKey(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false
  const proto = Object.getPrototypeOf(value) as unknown
  return proto === Object.prototype || proto === null
}

/** Keys in snake_case at every depth, Django's spelling (`isStaff` → `is_staff`); dates stay dates. */
export function toSnake(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toSnake)
  if (!isPlainObject(value)) return value
  return Object.fromEntries(Object.entries(value).map(([key, inner]) => [snakeKey(key), toSnake(inner)]))
}

/** One method of a view, checked against the procedure's input and output types. */
export function op<P extends ProcedurePath>(spec: OperationSpec<P>): Operation {
  const entries = Object.entries(spec.input ?? {}) as [string, SourceSpec<unknown>][]
  const input = spec.input
    ? Object.fromEntries(
        entries.map(([key, source]): [string, Source] => {
          if (source.in === 'const') return [key, source]
          return [key, { ...source, name: source.name ?? snakeKey(key) }]
        }),
      )
    : undefined
  return {
    procedure: spec.procedure,
    input,
    status: spec.status ?? 200,
    public: spec.public ?? false,
    respond: spec.respond ?? toSnake,
    response: spec.response,
    errors: spec.errors ?? {},
    summary: spec.summary ?? '',
  }
}

/**
 * Which authenticators a view runs, like a DRF view's `authentication_classes`:
 * - `token`: the seed's code-1 (TokenAuthentication only: `Authorization: Token`);
 * - `bearer`: the seed's code-2 (simplejwt's JWTAuthentication only: `Authorization: Bearer`);
 * - `none`: simplejwt's token views (`authentication_classes = ()`);
 * - `default`: every scheme of AUTH_SCHEMES (DEFAULT_AUTHENTICATION_CLASSES).
 * `token` and `bearer` narrow AUTH_SCHEMES; they never add a scheme the server does not run.
 */
export type AuthFamily = 'token' | 'bearer' | 'none' | 'default'

export const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const
export type Method = (typeof METHODS)[number]

export interface RestView {
  /** The URL, DRF-style with its trailing slash; `{name}` marks a path parameter (OpenAPI's syntax). */
  readonly path: string
  /** DRF's view name (`get_view_name`), answered by OPTIONS. */
  readonly name: string
  readonly description: string
  readonly auth: AuthFamily
  /**
   * The path parameters' types: an `integer` segment must be digits and fit Postgres's `integer`,
   * or the URL does not match (404).
   */
  readonly params: Readonly<Record<string, 'integer' | 'string'>>
  /** The view reads or writes cookies itself: `Vary: Accept, Cookie`. */
  readonly cookies: boolean
  readonly operations: Readonly<Partial<Record<Method, Operation>>>
}

export function view(spec: {
  path: string
  name: string
  description?: string
  auth: AuthFamily
  params?: Record<string, 'integer' | 'string'>
  cookies?: boolean
  operations: Partial<Record<Method, Operation>>
}): RestView {
  return { description: '', params: {}, cookies: false, ...spec }
}

/** DRF's `Allow` header: the view's methods in `http_method_names` order, HEAD with GET, then OPTIONS. */
export function allowOf(v: RestView): string {
  const methods: string[] = METHODS.filter((m) => v.operations[m])
  if (v.operations.GET) methods.push('HEAD')
  methods.push('OPTIONS')
  return methods.join(', ')
}

export interface Match {
  view: RestView
  params: Record<string, string | number>
}

/**
 * Compiles the views' URLs once. Views with fewer parameters are tried first, so a literal
 * segment (`/api/sessions/revoke-others/`) wins over a parameter (`/api/sessions/{id}/`).
 */
export function compileViews(views: readonly RestView[]): (pathname: string) => Match | undefined {
  const compiled = views
    .map((v) => {
      const names: string[] = []
      const source = v.path
        .split(/(\{[a-z_]+\})/)
        .map((part) => {
          const name = /^\{([a-z_]+)\}$/.exec(part)?.[1]
          if (!name) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
          const type = v.params[name]
          if (!type) throw new TypeError(`rest: ${v.path} has no type for {${name}}`)
          names.push(name)
          return type === 'integer' ? '(\\d{1,15})' : '([^/]+)'
        })
        .join('')
      return { view: v, names, pattern: new RegExp(`^${source}$`) }
    })
    .sort((a, b) => a.names.length - b.names.length)
  return (pathname) => {
    for (const { view: v, names, pattern } of compiled) {
      const found = pattern.exec(pathname)
      if (!found) continue
      const params: Record<string, string | number> = {}
      try {
        names.forEach((name, i) => {
          const raw = found[i + 1] ?? ''
          params[name] = v.params[name] === 'integer' ? Number(raw) : decodeURIComponent(raw)
        })
      } catch {
        continue // a malformed %-escape matches nothing
      }
      // An integer segment is a row id: past Postgres's `integer` it names no row, so the URL is a
      // 404, as Django's lookup answers (the procedure would call it a bad field).
      if (names.some((name) => v.params[name] === 'integer' && (params[name] as number) > MAX_ROW_ID)) continue
      return { view: v, params }
    }
    return undefined
  }
}
