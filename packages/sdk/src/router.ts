/**
 * The server's router type, restated so the published declarations stand on their own.
 *
 * `AppRouter` carries the server's context type (the auth service, the database, Kysely...), and
 * a declaration bundler can only inline that whole chain, not prune it. So the SDK derives from
 * `AppRouter` what a client needs (each procedure's kind, input and client-side output), and has
 * the compiler spell it out as plain object types when it emits `router.d.ts`. In the source the
 * types still come from `AppRouter`: a change on the server is a type error here at once.
 */
import type { AppRouter } from '@gatehouse/server'
import type {
  AnyTRPCProcedure,
  AnyTRPCRouter,
  inferRouterInputs,
  inferRouterOutputs,
  inferTransformedProcedureOutput,
  TRPCBuiltRouter,
  TRPCMutationProcedure,
  TRPCQueryProcedure,
} from '@trpc/server'

import type { GatehouseErrorShape } from './error-shape.js'
import { spelledOut } from './internal/spelled-out.js'

/** Per procedure, what a client needs to know: kind, input, and output as it arrives (JSON). */
type ShapeOf<TRouter extends AnyTRPCRouter, TRecord> = {
  [K in keyof TRecord]: TRecord[K] extends AnyTRPCProcedure
    ? {
        type: TRecord[K]['_def']['type']
        input: TRecord[K]['_def']['$types']['input']
        output: inferTransformedProcedureOutput<TRouter, TRecord[K]>
      }
    : ShapeOf<TRouter, TRecord[K]>
}

// Type-only: nothing imports this value at run time. Its declaration is the point: it is
// inferred, so `tsc` prints it structurally instead of naming `AppRouter`.
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- only its type is used
const ROUTER_SHAPE = spelledOut<ShapeOf<AppRouter, AppRouter['_def']['record']>>()

type ProcedureOf<TShape> = TShape extends { type: 'query'; input: infer TInput; output: infer TOutput }
  ? TRPCQueryProcedure<{ input: TInput; output: TOutput; meta: object; errorShape: unknown }>
  : TShape extends { type: 'mutation'; input: infer TInput; output: infer TOutput }
    ? TRPCMutationProcedure<{ input: TInput; output: TOutput; meta: object; errorShape: unknown }>
    : never

type RecordOf<TShape> = {
  [K in keyof TShape]: TShape[K] extends { type: string; input: unknown; output: unknown }
    ? ProcedureOf<TShape[K]>
    : RecordOf<TShape[K]>
}

/**
 * The Gatehouse server's router as a client sees it: the same procedures, inputs, outputs and
 * error shape as `AppRouter`, without the server-side context. Use it wherever tRPC asks for a
 * router type.
 *
 * @example
 * ```ts
 * import type { GatehouseRouter } from '@gatehouse/sdk'
 * import { createTRPCClient, httpLink } from '@trpc/client'
 *
 * const trpc = createTRPCClient<GatehouseRouter>({ links: [httpLink({ url: `${url}/trpc` })] })
 * ```
 */
export type GatehouseRouter = TRPCBuiltRouter<
  { ctx: object; meta: object; errorShape: GatehouseErrorShape; transformer: false },
  RecordOf<typeof ROUTER_SHAPE>
>

/** Every procedure's input, by path: `GatehouseInputs['auth']['login']`. */
export type GatehouseInputs = inferRouterInputs<GatehouseRouter>

/** Every procedure's output as the client receives it, by path: `GatehouseOutputs['auth']['me']`. */
export type GatehouseOutputs = inferRouterOutputs<GatehouseRouter>

type PathsOf<TRecord, TPrefix extends string = ''> = {
  [K in keyof TRecord & string]: TRecord[K] extends AnyTRPCProcedure
    ? `${TPrefix}${K}`
    : PathsOf<TRecord[K], `${TPrefix}${K}.`>
}[keyof TRecord & string]

type ProcedureAt<TRecord, TPath extends string> = TPath extends `${infer THead}.${infer TRest}`
  ? THead extends keyof TRecord
    ? ProcedureAt<TRecord[THead], TRest>
    : never
  : TPath extends keyof TRecord
    ? TRecord[TPath]
    : never

/**
 * Each procedure's dotted path mapped to its kind, `{ 'auth.login': 'mutation', … }`. A table
 * annotated with it must list every procedure of `TRouter`, no other, each with the right kind.
 */
export type ProcedureKinds<TRouter extends AnyTRPCRouter> = {
  [P in PathsOf<TRouter['_def']['record']>]: ProcedureAt<TRouter['_def']['record'], P> extends AnyTRPCProcedure
    ? ProcedureAt<TRouter['_def']['record'], P>['_def']['type']
    : never
}
