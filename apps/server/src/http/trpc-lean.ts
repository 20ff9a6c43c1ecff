/**
 * /trpc served straight from node:http (issue 6, part 3). tRPC v11's node adapter turns every request into
 * Fetch API `Request`/`Response` objects and streams the body back through a `WritableStream`; on a trivial
 * query that conversion, not the router, was ~90% of the cost. This handler keeps the wire contract of
 * `resolveResponse` (@trpc/server 11.x, http/resolveResponse.ts and http/contentType.ts) step for step —
 * the same checks in the same order, the same error objects, tRPC's own `getErrorShape` (so the router's
 * `errorFormatter`), `getHTTPStatusCode` (207 for a mixed batch) and `transformTRPCResponse` — for the
 * requests a client actually sends: GET queries and JSON POST mutations, single or batched.
 *
 * Everything else goes to the stock adapter, untouched, before a byte of the body is read: HEAD (204),
 * other methods, other content types (415, form data, octet streams), streaming (`trpc-accept` / jsonl),
 * subscriptions, and requests whose path or batch the stock adapter refuses before any call runs (a
 * malformed path escape, mixed procedure types, an oversized batch). Those rare answers are then the stock
 * adapter's by construction, and test/trpc-lean.test.ts compares the common ones byte for byte.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'

import type { AnyRouter, inferRouterContext } from '@trpc/server'
import type { NodeHTTPRequestHandlerOptions } from '@trpc/server/adapters/node-http'
import { nodeHTTPRequestHandler } from '@trpc/server/adapters/node-http'
import type {
  AnyProcedure,
  AnyRootTypes,
  ProcedureType,
  RootConfig,
  TRPCErrorShape,
  TRPCRequestInfo,
  TRPCRequestInfoProcedureCall,
  TRPCResponse,
} from '@trpc/server/unstable-core-do-not-import'
import {
  defaultTransformer,
  getErrorShape,
  getHTTPStatusCode,
  getProcedureAtPath,
  getTRPCErrorFromUnknown,
  isAsyncIterable,
  isObject,
  transformTRPCResponse,
  TRPCError,
  urlPathToProcedurePath,
} from '@trpc/server/unstable-core-do-not-import'

import { readBody } from '../kit/body.js'

export type TrpcHandlerOptions<TRouter extends AnyRouter> = NodeHTTPRequestHandlerOptions<
  TRouter,
  IncomingMessage,
  ServerResponse
>

type Outcome = [TRPCError, undefined] | [undefined, unknown]
type Inputs = Record<number, unknown>

// `Request.text()` decodes as UTF-8 and drops a leading BOM; so does a TextDecoder by default.
const utf8 = new TextDecoder()

/** The media type the stock adapter compares: lower case, parameters and spaces dropped. */
function mediaType(header: string | undefined): string | undefined {
  return header?.toLowerCase().split(';', 1)[0]?.trim()
}

/** What the stock adapter answers itself, without this handler reproducing it. */
function stockOnly(req: IncomingMessage): boolean {
  const type = mediaType(req.headers['content-type'])
  if (req.method === 'POST') {
    if (type !== 'application/json') return true
  } else if (req.method !== 'GET' || type === 'multipart/form-data' || type === 'application/octet-stream') {
    return true
  }
  // Streaming responses (httpBatchStreamLink); a `trpc-accept` of any value is left to the adapter too.
  return req.headers['trpc-accept'] !== undefined || (req.headers.accept?.includes('application/jsonl') ?? false)
}

/** Whether a result holds promises or async iterables, which only the streaming link can carry. */
function isDataStream(value: unknown): boolean {
  if (!isObject(value)) return false
  if (isAsyncIterable(value)) return true
  const values = Object.values(value)
  return values.some((v) => v instanceof Promise) || values.some(isAsyncIterable)
}

/** tRPC's `memo` (contentType.ts): one read shared by every call of a batch; non-tRPC errors become BAD_REQUEST. */
function memo(fn: () => Promise<Inputs>) {
  let promise: Promise<Inputs> | undefined
  let value: Inputs | undefined
  return {
    read(): Promise<Inputs> {
      promise ??= fn().then(
        (v) => (value = v),
        (cause: unknown) => {
          if (cause instanceof TRPCError) throw cause
          const message = cause instanceof Error ? cause.message : 'Invalid input'
          throw new TRPCError({ code: 'BAD_REQUEST', message, cause })
        },
      )
      return promise
    },
    result: (): Inputs | undefined => value,
  }
}

/** Response headers as the stock adapter assembles them: `set` replaces, a list appends. */
class HeaderList {
  private readonly map = new Map<string, string[]>([
    ['vary', ['trpc-accept, accept']],
    ['content-type', ['application/json']],
  ])
  set(name: string, value: string) {
    this.map.set(name.toLowerCase(), [value])
  }
  append(name: string, value: string) {
    const key = name.toLowerCase()
    const list = this.map.get(key)
    if (list) list.push(value)
    else this.map.set(key, [value])
  }
  /** node's form: Set-Cookie stays a list, every other repeated header is joined as Fetch joins it. */
  toNode(length: number): Record<string, string | string[] | number> {
    const out: Record<string, string | string[] | number> = {}
    for (const [key, values] of this.map) out[key] = key === 'set-cookie' ? values : values.join(', ')
    out['content-length'] = length
    return out
  }
}

function accepts(type: ProcedureType, method: string | undefined): boolean {
  return type === 'mutation' ? method === 'POST' : method === 'GET'
}

/** Drop-in for `nodeHTTPRequestHandler` with the options server.ts gives it (no middleware, no method override). */
export async function leanHTTPRequestHandler<TRouter extends AnyRouter>(
  opts: TrpcHandlerOptions<TRouter>,
): Promise<void> {
  const { req, res, router } = opts
  if (opts.middleware || opts.allowMethodOverride || stockOnly(req)) return nodeHTTPRequestHandler(opts)
  const config = router._def._config as RootConfig<AnyRootTypes>

  // The request info, as getRequestInfo builds it. Anything it would refuse is left to the stock adapter.
  let path: string
  try {
    path = urlPathToProcedurePath(decodeURIComponent(opts.path), config.pathSeparator)
  } catch {
    return nodeHTTPRequestHandler(opts)
  }
  const url = req.url ?? '/'
  const queryStart = url.indexOf('?')
  const hashStart = url.indexOf('#')
  const query =
    queryStart === -1 || (hashStart !== -1 && hashStart < queryStart)
      ? ''
      : url.slice(queryStart + 1, hashStart === -1 ? undefined : hashStart)
  const searchParams = new URLSearchParams(query)
  // Connection params belong to subscriptions' links; the stock adapter parses them.
  if (searchParams.has('connectionParams')) return nodeHTTPRequestHandler(opts)
  const isBatchCall = searchParams.get('batch') === '1'
  const allowBatching = opts.allowBatching ?? opts.batching?.enabled ?? true
  if (isBatchCall && !allowBatching) return nodeHTTPRequestHandler(opts)
  const paths = isBatchCall ? path.split(',') : [path]
  if (isBatchCall && typeof opts.maxBatchSize === 'number' && paths.length > opts.maxBatchSize) {
    return nodeHTTPRequestHandler(opts)
  }
  const procedures: (AnyProcedure | null)[] = []
  let type: ProcedureType | 'unknown' = 'unknown'
  for (const p of paths) {
    const procedure =
      (router._def.procedures as Record<string, AnyProcedure | undefined>)[p] ?? (await getProcedureAtPath(router, p))
    // `_def` is checked: a path such as `constructor` finds Object's own property on the record.
    const t = (procedure as { _def?: { type?: ProcedureType } } | null)?._def?.type
    if (procedure && !t) return nodeHTTPRequestHandler(opts)
    if (t === 'subscription' || (t && type !== 'unknown' && t !== type)) return nodeHTTPRequestHandler(opts)
    if (t) type = t
    procedures.push(procedure)
  }

  const inputs = memo(async () => {
    let raw: unknown
    if (req.method === 'GET') {
      const queryInput = searchParams.get('input')
      if (queryInput) raw = JSON.parse(queryInput)
    } else {
      // httpLink sends no body when the input is undefined: an empty body is no input.
      // Past the limit, the stock adapter's error: PAYLOAD_TOO_LARGE with tRPC's own message.
      const bytes = await readBody(req, opts.maxBodySize, () => new TRPCError({ code: 'PAYLOAD_TOO_LARGE' }))
      // As `Request.text()` reads it: UTF-8, a leading BOM dropped.
      const body = utf8.decode(bytes)
      if (body) raw = JSON.parse(body)
    }
    const out: Inputs = Object.create(null) as Inputs
    if (raw === undefined) return out
    if (!isBatchCall) {
      out[0] = config.transformer.input.deserialize(raw)
      return out
    }
    if (!isObject(raw)) {
      throw new TRPCError({ code: 'BAD_REQUEST', message: '"input" needs to be an object when doing a batch call' })
    }
    for (const index of paths.keys()) {
      const input = raw[index]
      if (input !== undefined) out[index] = config.transformer.input.deserialize(input)
    }
    return out
  })

  // The stock adapter's calls abort when the client goes away before the answer is sent; so do these.
  const abort = new AbortController()
  res.once('close', () => {
    if (!res.writableEnded) abort.abort()
  })
  const calls: TRPCRequestInfoProcedureCall[] = paths.map((p, index) => ({
    batchIndex: index,
    path: p,
    procedure: procedures[index] ?? null,
    getRawInput: async () => (await inputs.read())[index],
    result: () => inputs.result()?.[index],
  }))
  const info: TRPCRequestInfo = {
    isBatchCall,
    accept: null,
    calls,
    type,
    connectionParams: null,
    signal: abort.signal,
    url: null,
  }

  let ctx: inferRouterContext<TRouter> | undefined
  let ctxError: TRPCError | undefined
  try {
    ctx = await opts.createContext?.({ req, res, info })
  } catch (cause) {
    ctxError = getTRPCErrorFromUnknown(cause)
  }

  const headers = new HeaderList()
  const run = async (call: TRPCRequestInfoProcedureCall): Promise<Outcome> => {
    const proc = call.procedure
    try {
      if (!proc) throw new TRPCError({ code: 'NOT_FOUND', message: `No procedure found on path "${call.path}"` })
      if (!accepts(proc._def.type, req.method)) {
        // a 405 lists the methods the procedure accepts (RFC 9110 15.5.6)
        headers.set('allow', proc._def.type === 'mutation' ? 'POST' : 'GET')
        throw new TRPCError({
          code: 'METHOD_NOT_SUPPORTED',
          message: `Unsupported ${req.method}-request to ${proc._def.type} procedure at path "${call.path}"`,
        })
      }
      if (ctxError) throw ctxError
      const data: unknown = await proc({
        path: call.path,
        getRawInput: call.getRawInput,
        ctx,
        type: proc._def.type,
        signal: abort.signal,
        batchIndex: call.batchIndex,
      })
      return [undefined, data]
    } catch (cause) {
      const error = getTRPCErrorFromUnknown(cause)
      const errType = proc?._def.type ?? 'unknown'
      opts.onError?.({ error, path: call.path, input: call.result(), ctx, type: errType, req })
      return [error, undefined]
    }
  }
  const pending = calls.map(run)

  const send = (untransformed: TRPCResponse | TRPCResponse[], errors: (TRPCError | undefined)[]) => {
    const data = Array.isArray(untransformed) ? untransformed : [untransformed]
    let status = getHTTPStatusCode(untransformed, errors)
    const meta =
      opts.responseMeta?.({
        ctx,
        info,
        paths: calls.map((c) => c.path),
        data,
        errors: errors.filter((e): e is TRPCError => e !== undefined),
        eagerGeneration: false,
        type: calls.find((c) => c.procedure?._def.type)?.procedure?._def.type ?? 'unknown',
      }) ?? {}
    if (meta.headers instanceof Headers) {
      meta.headers.forEach((value, key) => headers.append(key, value))
    } else if (meta.headers) {
      for (const [key, value] of Object.entries(meta.headers)) {
        if (Array.isArray(value)) for (const v of value) headers.append(key, v)
        else if (typeof value === 'string') headers.set(key, value)
      }
    }
    if (meta.status) status = meta.status
    // Without a transformer (ours has none) tRPC's transform only copies the response, key for key.
    const payload = JSON.stringify(
      config.transformer === defaultTransformer ? untransformed : transformTRPCResponse(config, untransformed as TRPCResponse),
    )
    res.writeHead(status, headers.toNode(Buffer.byteLength(payload)))
    res.end(payload)
  }
  const shapeOf = (error: TRPCError, call: TRPCRequestInfoProcedureCall, callType: ProcedureType | 'unknown') => ({
    error: getErrorShape({
      config,
      ctx,
      error,
      input: call.result(),
      path: call.path,
      type: callType,
    }) as TRPCErrorShape,
  })

  try {
    if (!isBatchCall) {
      const [error, data] = (await pending[0]) as Outcome
      const call = calls[0] as TRPCRequestInfoProcedureCall
      if (!error && isDataStream(data)) {
        const message = 'Cannot use stream-like response in non-streaming request - use httpBatchStreamLink'
        throw new TRPCError({ code: 'UNSUPPORTED_MEDIA_TYPE', message })
      }
      const response: TRPCResponse = error ? shapeOf(error, call, type) : { result: { data } }
      return send(response, error ? [error] : [])
    }
    const outcomes = (await Promise.all(pending)).map((outcome): Outcome => {
      if (outcome[0] || !isDataStream(outcome[1])) return outcome
      const message = 'Cannot use stream-like response in non-streaming request - use httpBatchStreamLink'
      return [new TRPCError({ code: 'UNSUPPORTED_MEDIA_TYPE', message }), undefined]
    })
    const responses = outcomes.map(([error, data], index): TRPCResponse => {
      const call = calls[index] as TRPCRequestInfoProcedureCall
      return error ? shapeOf(error, call, call.procedure?._def.type ?? 'unknown') : { result: { data } }
    })
    return send(
      responses,
      outcomes.map(([error]) => error),
    )
  } catch (cause) {
    // What resolveResponse's outer catch answers: a formatter or serializer that threw, a streamed result.
    const error = getTRPCErrorFromUnknown(cause)
    opts.onError?.({ error, path: undefined, input: undefined, ctx, type, req })
    const shape = getErrorShape({ config, ctx, error, input: undefined, path: undefined, type }) as TRPCErrorShape
    const response = { error: shape }
    return send(response, [error])
  }
}
