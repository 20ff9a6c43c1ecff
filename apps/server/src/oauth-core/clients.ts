/**
 * OAuth clients (DOT's Application): confidential or public, their redirect URIs, grants and
 * scopes. Shared by the admin procedures and the CLI. A secret is shown once, at creation; only
 * its SHA-256 is stored. A client allowed client_credentials acts as its own service user
 * (`client:<client_id>`, unusable password), created in the same transaction, whose permissions
 * are granted like any user's.
 */
import { randomBytes } from 'node:crypto'

import { AuthError } from '@gatehouse/auth'
import type { Db, OAuthClient } from '@gatehouse/db'
import { sql } from 'kysely'

import type { OAuthGrantType } from '../config.js'
import { OAUTH_GRANT_TYPES } from '../config.js'
import { OAUTH_SCOPES } from './settings.js'
import { sha256Hex } from './secret.js'


/**
 * 128 random bits, base64url, never starting with '-' or '_': an id that begins with '-' reads as
 * an option to `gatehouse deleteclient ID` and to most other command lines it is pasted into.
 */
export function newClientId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url')
    if (!/^[-_]/.test(id)) return id
  }
}

export interface CreateOAuthClientInput {
  name: string
  grants: readonly string[]
  redirectUris?: readonly string[] | undefined
  /** Space separated or a list; each one of OAUTH_SCOPES. */
  scopes: string | readonly string[]
  /** A public client (a browser or native app) has no secret and must use PKCE. @default false */
  public?: boolean | undefined
  /**
   * A resource server (an API that checks the tokens presented to it) may introspect any token;
   * every other client learns nothing at the introspection endpoint. Confidential clients only.
   * @default false
   */
  resourceServer?: boolean | undefined
}

/** A client as admins see it: never the secret, never its hash. */
export interface OAuthClientInfo {
  clientId: string
  name: string
  public: boolean
  /** May introspect any token at /oauth/token/introspection. */
  resourceServer: boolean
  grants: string[]
  redirectUris: string[]
  scopes: string
  /** The user client_credentials tokens act as; null when the client has no such grant. */
  serviceUser: { id: number; username: string } | null
  createdAt: string
}

export const SERVICE_USER_PREFIX = 'client:'

function invalid(fieldErrors: Record<string, string[]>): AuthError {
  return new AuthError('INVALID_INPUT', { fieldErrors })
}

/**
 * The loopback IP literals an `http://` redirect URI may name (RFC 8252 §7.3, as the URL parser
 * spells them: `127.1` is `127.0.0.1`). Not `localhost` (§8.3: NOT RECOMMENDED): the name can
 * resolve elsewhere, and a client listening on it may listen on other interfaces too.
 */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]'])

/**
 * Why the redirect URI cannot be registered, or null. Plain http would carry the code in clear
 * over the network (RFC 9700 §2.6), so it is only for a native app's loopback listener.
 */
export function redirectUriProblem(uri: string): string | null {
  let url: URL
  try {
    url = new URL(uri)
  } catch {
    return `"${uri}" is not an absolute URL.`
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `"${uri}" must use http or https.`
  if (url.hash || uri.includes('#')) return `"${uri}" must not have a fragment.`
  if (url.protocol === 'http:' && !LOOPBACK_HOSTS.has(url.hostname)) {
    return `"${uri}" must use https; http only on a loopback IP literal, 127.0.0.1 or [::1] (not localhost: RFC 8252 §8.3).`
  }
  return null
}

/** Checks and normalises the input; every problem is reported under the field it concerns. */
export function validateClientInput(input: CreateOAuthClientInput, offered: readonly OAuthGrantType[]) {
  const errors: Record<string, string[]> = {}
  const name = input.name.trim()
  if (name.length === 0 || name.length > 150) errors.name = ['Ensure this field has 1 to 150 characters.']

  const grants = [...new Set(input.grants.map((g) => g.trim()).filter(Boolean))]
  const unknown = grants.filter((g) => !(OAUTH_GRANT_TYPES as readonly string[]).includes(g))
  const notOffered = grants.filter((g) => !unknown.includes(g) && !(offered as readonly string[]).includes(g))
  const isPublic = input.public ?? false
  if (grants.length === 0) errors.grants = ['Give at least one grant.']
  else if (unknown.length > 0)
    errors.grants = [`Unknown grant ${unknown.join(', ')}; expected ${OAUTH_GRANT_TYPES.join(', ')}.`]
  else if (notOffered.length > 0)
    errors.grants = [`Grant ${notOffered.join(', ')} is not offered by this server (OAUTH_GRANTS).`]
  else if (grants.includes('refresh_token') && !grants.includes('authorization_code')) {
    errors.grants = ['refresh_token needs authorization_code.']
  } else if (isPublic && grants.includes('client_credentials')) {
    errors.grants = ['A public client cannot use client_credentials: it has no secret.']
  }

  const redirectUris = [...new Set((input.redirectUris ?? []).map((u) => u.trim()).filter(Boolean))]
  const badUris = redirectUris.map(redirectUriProblem).filter((m): m is string => m !== null)
  if (badUris.length > 0) errors.redirectUris = badUris
  else if (grants.includes('authorization_code') && redirectUris.length === 0) {
    errors.redirectUris = ['authorization_code needs at least one redirect URI.']
  } else if (!grants.includes('authorization_code') && redirectUris.length > 0) {
    errors.redirectUris = ['Redirect URIs are only used by authorization_code.']
  }

  const scopeList = typeof input.scopes === 'string' ? input.scopes.split(/\s+/) : [...input.scopes]
  const scopes = [...new Set(scopeList.map((s) => s.trim()).filter(Boolean))]
  const unknownScopes = scopes.filter((s) => !(OAUTH_SCOPES as readonly string[]).includes(s))
  if (scopes.length === 0) errors.scopes = ['Give at least one scope.']
  else if (unknownScopes.length > 0) {
    errors.scopes = [`Unknown scope ${unknownScopes.join(', ')}; expected some of ${OAUTH_SCOPES.join(' ')}.`]
  }

  const resourceServer = input.resourceServer ?? false
  if (resourceServer && isPublic) {
    errors.resourceServer = ['A public client cannot be a resource server: it has no secret to introspect with.']
  }

  if (Object.keys(errors).length > 0) throw invalid(errors)
  return { name, grants, redirectUris, scopes: scopes.join(' '), isPublic, resourceServer }
}

function toInfo(row: OAuthClient & { service_username: string | null }): OAuthClientInfo {
  return {
    clientId: row.id,
    name: row.name,
    public: row.public,
    resourceServer: row.resource_server,
    grants: row.grant_types,
    redirectUris: row.redirect_uris,
    scopes: row.scopes,
    serviceUser:
      row.service_user_id !== null && row.service_username !== null
        ? { id: row.service_user_id, username: row.service_username }
        : null,
    createdAt: row.created_at.toISOString(),
  }
}

/** Registers a client; the secret (confidential clients only) is returned this once. */
export async function createOAuthClient(
  db: Db,
  input: CreateOAuthClientInput,
  offered: readonly OAuthGrantType[],
): Promise<{ client: OAuthClientInfo; clientSecret: string | null }> {
  const valid = validateClientInput(input, offered)
  const clientId = newClientId()
  const clientSecret = valid.isPublic ? null : randomBytes(32).toString('base64url')
  const client = await db.transaction().execute(async (trx) => {
    let serviceUser: { id: number; username: string } | null = null
    if (valid.grants.includes('client_credentials')) {
      const username = `${SERVICE_USER_PREFIX}${clientId}`
      // `!` + random: no hash format matches it, so this user can never log in with a password.
      const password = `!${randomBytes(24).toString('base64url')}`
      serviceUser = await trx
        .insertInto('users')
        .values({ username, password, email: '' })
        .returning(['id', 'username'])
        .executeTakeFirstOrThrow()
    }
    const row = await trx
      .insertInto('oauth_clients')
      .values({
        id: clientId,
        name: valid.name,
        secret_hash: clientSecret === null ? null : sha256Hex(clientSecret),
        redirect_uris: JSON.stringify(valid.redirectUris),
        grant_types: JSON.stringify(valid.grants),
        scopes: valid.scopes,
        public: valid.isPublic,
        resource_server: valid.resourceServer,
        service_user_id: serviceUser?.id ?? null,
      })
      .returningAll()
      .executeTakeFirstOrThrow()
    return toInfo({ ...row, service_username: serviceUser?.username ?? null })
  })
  return { client, clientSecret }
}

function clientsWithServiceUser(db: Db) {
  return db
    .selectFrom('oauth_clients')
    .leftJoin('users', 'users.id', 'oauth_clients.service_user_id')
    .selectAll('oauth_clients')
    .select('users.username as service_username')
}

export async function listOAuthClients(db: Db): Promise<OAuthClientInfo[]> {
  const rows = await clientsWithServiceUser(db)
    .orderBy('oauth_clients.created_at')
    .orderBy('oauth_clients.id')
    .execute()
  return rows.map(toInfo)
}

/** Whether the client may introspect tokens (RFC 7662 §4: the server decides who may). */
export async function isResourceServer(db: Db, clientId: string): Promise<boolean> {
  const row = await db
    .selectFrom('oauth_clients')
    .select('resource_server')
    .where('id', '=', clientId)
    .executeTakeFirst()
  return row?.resource_server === true
}

export async function getOAuthClient(db: Db, clientId: string): Promise<OAuthClientInfo | undefined> {
  const row = await clientsWithServiceUser(db).where('oauth_clients.id', '=', clientId).executeTakeFirst()
  return row && toInfo(row)
}

/**
 * Deletes a client with everything issued to it (codes, tokens, grants: its JWT access tokens stop
 * at their next use) and its service user. NOT_FOUND when there is no such client.
 */
export async function deleteOAuthClient(db: Db, clientId: string): Promise<void> {
  const deleted = await db.transaction().execute(async (trx) => {
    const row = await trx.deleteFrom('oauth_clients').where('id', '=', clientId).returningAll().executeTakeFirst()
    if (!row) return false
    await trx
      .deleteFrom('oauth_payloads')
      .where(sql<string>`payload->>'clientId'`, '=', clientId)
      .execute()
    if (row.service_user_id !== null) await trx.deleteFrom('users').where('id', '=', row.service_user_id).execute()
    return true
  })
  if (!deleted) throw new AuthError('NOT_FOUND', { message: `No OAuth client "${clientId}".` })
}
