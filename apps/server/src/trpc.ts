import { AuthError } from '@gatehouse/auth'
import { initTRPC } from '@trpc/server'
import * as z from 'zod'

import type { Context } from './context.js'
import type { WireReason } from './kit/wire-errors.js'
import { toTRPCError, transportReason } from './kit/wire-errors.js'
import type { ProcedureMeta } from './middleware/oauth.js'
import { oauthGate } from './middleware/oauth.js'
import { throttle } from './middleware/throttle.js'

function describeIssue(issue: z.core.$ZodIssue): string {
  const field = issue.path.length > 0 ? issue.path.join('.') : null
  if (issue.code === 'unrecognized_keys') return `Unrecognized field(s): ${issue.keys.join(', ')}.`
  return field ? `${field}: ${issue.message}` : issue.message
}

/** Django-style `{ field: [messages] }`, unknown keys included under their own names. */
function zodFieldErrors(error: z.ZodError): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  for (const issue of error.issues) {
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [issue.path.length > 0 ? issue.path.join('.') : 'input']
    const message = issue.code === 'unrecognized_keys' ? 'Unrecognized field.' : issue.message
    for (const key of keys) (out[key] ??= []).push(message)
  }
  return out
}

const t = initTRPC.context<Context>().meta<ProcedureMeta>().create({
  // No transformer: the wire contract is plain JSON (DESIGN.md).
  isDev: false, // never send stacks; decided here, not by NODE_ENV
  errorFormatter({ shape, error }) {
    const cause = error.cause
    let reason: WireReason
    let fieldErrors: Record<string, string[]> | undefined
    let message = shape.message
    if (cause instanceof z.ZodError) {
      reason = 'INVALID_INPUT'
      fieldErrors = zodFieldErrors(cause)
      message = cause.issues.map(describeIssue).join('; ')
    } else if (cause instanceof AuthError) {
      reason = cause.code
      fieldErrors = cause.fieldErrors
    } else {
      // What tRPC or the edge raised itself (kit/wire-errors.ts); a bug says nothing more than that.
      const transport = transportReason(error.code)
      reason = transport.reason
      message = transport.message ?? message
    }
    const { stack: _stack, ...data } = shape.data
    return { ...shape, message, data: { ...data, reason, ...(fieldErrors ? { fieldErrors } : {}) } }
  },
})

/**
 * Every procedure starts here, and in one middleware rather than four: each tRPC middleware level
 * copies the call's options (a babel object spread), which a CPU profile of a cached protected
 * query put at a fifth of its time (docs/performance.md). In order:
 * - domain errors thrown anywhere below become wire errors once;
 * - after a mutation, wait until the credential changes it committed have reached this process's
 *   auth cache (a NOTIFY round trip, `auth.settle()`), so a revocation is in force here before its
 *   response leaves; other processes hear it in commit order through the same NOTIFY;
 * - throttling, so a refused caller costs nothing further;
 * - an `Authorization` header is authenticated, on public procedures too (but simplejwt's token views);
 * - the OAuth gate, which keeps OAuth access tokens out of every procedure that declares no scopes.
 */
const base = t.middleware(async function base({ ctx, meta, type, next }) {
  let result
  try {
    result = await throttle({
      ctx,
      next: async () => {
        // DRF authenticates every request before its permissions: a bad Authorization header is
        // a 401 on an AllowAny procedure too, never an anonymous call (cookies are read only
        // where the procedure asks for the caller, as Django ignores a stale session).
        if (ctx.http?.request.authorization !== undefined && meta?.tokenView !== true) await ctx.authenticate()
        return oauthGate({ ctx, meta, next })
      },
    })
  } catch (error) {
    throw toTRPCError(error)
  } finally {
    if (type === 'mutation') await ctx.auth.settle() // never throws: a lost bus resolves at once
  }
  if (!result.ok && result.error.code === 'INTERNAL_SERVER_ERROR' && result.error.cause) {
    throw toTRPCError(result.error.cause)
  }
  return result
})

export const router = t.router
export const middleware = t.middleware
export const createCallerFactory = t.createCallerFactory
/** The root builder; public and every other builder derive from it. Not exported as `procedure`. */
export const baseProcedure = t.procedure.use(base)
