/**
 * auth.apps.*: the applications a user let act for them through the OAuth server (its remembered
 * grants, DOT's "authorized tokens" page), and revoking one. Revoking deletes the grants and
 * everything issued under them (codes, refresh tokens), and the `oauth` authenticator refuses any
 * access token whose grant is gone, so the app loses access at once; its next authorisation asks
 * for consent again.
 *
 * Never open to OAuth access tokens (no scope is declared): an app cannot see or revoke others.
 */
import type { Db } from '@gatehouse/db'
import { AuthError } from '@gatehouse/auth'
import { sql } from 'kysely'
import * as z from 'zod'

import { protectedProcedure } from '../procedures.js'
import { router } from '../trpc.js'
import { field } from './schemas.js'

export interface AuthorisedApp {
  clientId: string
  name: string
  /** Every scope the user granted the app, sorted. */
  scopes: string[]
  /** When the user first authorised it (ISO 8601). */
  grantedAt: string
}

const accountIdOf = sql<string>`payload->>'accountId'`
const clientIdOf = sql<string>`payload->>'clientId'`

/** The user's live Grant rows, newest last. */
async function findGrants(db: Db, opts: { userId: number; now: Date; clientId?: string | undefined }) {
  let query = db
    .selectFrom('oauth_payloads')
    .select(['id', 'payload'])
    .where('model', '=', 'Grant')
    .where(accountIdOf, '=', String(opts.userId))
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', opts.now)]))
  if (opts.clientId !== undefined) query = query.where(clientIdOf, '=', opts.clientId)
  return query.orderBy('id').execute()
}

/** The scopes a Grant payload holds: its OpenID scopes and those of each resource. */
function grantedScopes(payload: Record<string, unknown>): string[] {
  const scopes: string[] = []
  const openid = payload['openid'] as { scope?: unknown } | undefined
  if (typeof openid?.scope === 'string') scopes.push(...openid.scope.split(' '))
  const resources = payload['resources'] as Record<string, unknown> | undefined
  for (const value of Object.values(resources ?? {})) if (typeof value === 'string') scopes.push(...value.split(' '))
  return scopes.filter(Boolean)
}

async function listApps(db: Db, userId: number, now: Date): Promise<AuthorisedApp[]> {
  const grants = await findGrants(db, { userId, now })
  const byClient = new Map<string, { scopes: Set<string>; iat: number }>()
  for (const { payload } of grants) {
    const p = payload
    const clientId = p['clientId']
    if (typeof clientId !== 'string') continue
    const iat = typeof p['iat'] === 'number' ? p['iat'] : 0
    const entry = byClient.get(clientId) ?? { scopes: new Set<string>(), iat }
    for (const scope of grantedScopes(p)) entry.scopes.add(scope)
    entry.iat = Math.min(entry.iat, iat)
    byClient.set(clientId, entry)
  }
  if (byClient.size === 0) return []
  const clients = await db
    .selectFrom('oauth_clients')
    .select(['id', 'name'])
    .where('id', 'in', [...byClient.keys()])
    .execute()
  const names = new Map(clients.map((c) => [c.id, c.name]))
  return [...byClient]
    .filter(([clientId]) => names.has(clientId)) // a deleted client's grants are dead anyway
    .map(([clientId, { scopes, iat }]) => ({
      clientId,
      name: names.get(clientId) ?? clientId,
      scopes: [...scopes].sort(),
      grantedAt: new Date(iat * 1000).toISOString(),
    }))
    .sort((a, b) => a.name.localeCompare(b.name) || a.clientId.localeCompare(b.clientId))
}

/** Deletes the user's grants to the client and everything issued under them; how many grants went. */
async function revokeApp(db: Db, opts: { userId: number; clientId: string; now: Date }): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const grants = await findGrants(trx, opts)
    const ids = grants.map((g) => g.id)
    if (ids.length === 0) return 0
    await trx.deleteFrom('oauth_payloads').where('grant_id', 'in', ids).execute()
    await trx.deleteFrom('oauth_payloads').where('model', '=', 'Grant').where('id', 'in', ids).execute()
    return ids.length
  })
}

export const oauthAppsRouter = router({
  /** The apps the caller authorised, one entry per app with every scope it holds. */
  list: protectedProcedure.query(async ({ ctx }) => ({
    items: await listApps(ctx.auth.db, ctx.user.id, ctx.auth.clock()),
  })),

  /** Takes an app's access away: its grants, codes and tokens. An app never authorised is 404. */
  revoke: protectedProcedure
    .input(z.strictObject({ clientId: field({ max: 64 }) }))
    .mutation(async ({ ctx, input }) => {
      const revoked = await revokeApp(ctx.auth.db, {
        userId: ctx.user.id,
        clientId: input.clientId,
        now: ctx.auth.clock(),
      })
      if (revoked === 0) throw new AuthError('NOT_FOUND', { message: 'You have not authorised this application.' })
      await ctx.auth.audit({
        event: 'oauth_app.revoked',
        userId: ctx.user.id,
        ...ctx.meta,
        detail: { clientId: input.clientId, grants: revoked },
      })
      return { detail: 'Application access revoked.' as const }
    }),
})
