/**
 * Our OAuth access tokens are JWTs (`typ: at+jwt`). oidc-provider keeps no record of a JWT access
 * token, so `persistJwt` stores one: that row is what revocation, introspection, a reused code and a
 * deleted client remove, and what the resource side checks (`isOAuthAccessTokenLive`).
 */
import type { KeyRing } from '@gatehouse/auth'
import type { Db } from '@gatehouse/db'
import { decodeProtectedHeader, jwtVerify } from 'jose'
import type { KoaContextWithOIDC } from 'oidc-provider'

import { isOAuthAccessTokenLive } from './adapter.js'
import type { OAuthSettingsRef } from '../oauth-core/settings.js'

/** What checking one of our access tokens needs. */
export interface AccessTokenKeys {
  db: Db
  keys: KeyRing
  settingsRef: OAuthSettingsRef
}

/** Records a JWT access token so it can be revoked, introspected and checked by the resource side. */
export async function persistJwt(
  _ctx: KoaContextWithOIDC,
  token: unknown,
  parts: { payload: Record<string, unknown> },
) {
  const model = token as Record<string, unknown> & {
    jti: string
    constructor: { IN_PAYLOAD: string[] }
    adapter: { upsert(id: string, payload: Record<string, unknown>, expiresIn: number): Promise<void> }
  }
  const payload: Record<string, unknown> = {}
  for (const key of model.constructor.IN_PAYLOAD) {
    if (model[key] !== undefined) payload[key] = model[key]
  }
  const exp = Number(parts.payload.exp)
  payload.iat = parts.payload.iat
  payload.exp = exp
  payload.jti = model.jti
  await model.adapter.upsert(model.jti, payload, Math.max(1, exp - Math.floor(Date.now() / 1000)))
}

/** The claims of a verified OAuth access token of ours, or null. */
export async function verifyAccessToken(token: string, { db, keys, settingsRef }: AccessTokenKeys) {
  const settings = settingsRef.get()
  try {
    const { payload } = await jwtVerify(token, keys.resolve, {
      algorithms: [settings.algorithm],
      issuer: settings.issuer,
      audience: settings.resource,
      typ: 'at+jwt',
    })
    if (typeof payload.jti !== 'string' || !(await isOAuthAccessTokenLive(db, payload.jti))) return null
    return payload
  } catch {
    return null
  }
}

/**
 * The `jti` of an access token of ours, expired too (introspection answers `active: false` for it
 * from the record); `unknown-jwt` for any other JWT, a value that matches nothing.
 */
export async function jtiOf(token: string, { keys, settingsRef }: Omit<AccessTokenKeys, 'db'>): Promise<string> {
  const settings = settingsRef.get()
  let jti = 'unknown-jwt'
  try {
    const { payload } = await jwtVerify(token, keys.resolve, {
      algorithms: [settings.algorithm],
      issuer: settings.issuer,
      typ: 'at+jwt',
      currentDate: new Date(0),
    })
    if (typeof payload.jti === 'string') jti = payload.jti
  } catch {
    // not one of ours: matches nothing
  }
  return jti
}

export function isJwt(token: string): boolean {
  try {
    decodeProtectedHeader(token)
    return token.split('.').length === 3
  } catch {
    return false
  }
}
