/**
 * oidc-provider's storage adapter on our database (Postgres or PGlite): one row per model instance
 * in `oauth_payloads`, clients read from `oauth_clients`. Everything the provider issues lives
 * here, so every process sees the same codes, tokens, grants and interactions.
 *
 * A row is keyed by the SHA-256 of the provider's id (a Grant's excepted: @gatehouse/auth's
 * oauthPayloadId), because for a code, a refresh token or a session that id is the credential. The
 * payload's own copy of it (`jti`) is not stored: `find` is given the id and puts it back. Nor is
 * the session cookie an interaction records, which the provider never reads back.
 */
import { oauthPayloadId } from '@gatehouse/auth'
import type { Db, OAuthClient } from '@gatehouse/db'
import type { Adapter, AdapterPayload, ClientMetadata } from 'oidc-provider'
import { sql } from 'kysely'

import { NULL_CHARACTERS } from '../kit/fields.js'

/** Models whose rows belong to a grant, so `revokeByGrantId` removes them with it. */
const GRANTABLE = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
])

/** How a client row becomes the metadata oidc-provider validates and uses. */
export function toClientMetadata(row: OAuthClient): ClientMetadata {
  const grantTypes = row.grant_types
  return {
    client_id: row.id,
    client_name: row.name,
    // The provider compares secrets through Client#compareClientSecret, which provider.ts replaces with a
    // constant-time comparison of SHA-256 digests: it only ever holds the hash.
    ...(row.secret_hash === null ? {} : { client_secret: row.secret_hash }),
    token_endpoint_auth_method: row.public ? 'none' : 'client_secret_basic',
    grant_types: grantTypes,
    response_types: grantTypes.includes('authorization_code') ? ['code'] : [],
    redirect_uris: row.redirect_uris,
    scope: row.scopes,
  }
}

/**
 * Whether a request-supplied value holds U+0000 anywhere. Postgres stores it in neither text nor
 * jsonb, so such a value can match no row, and writing one would fail with a 500.
 */
function holdsNull(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\0')
  if (Array.isArray(value)) return value.some(holdsNull)
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).some(([key, v]) => key.includes('\0') || holdsNull(v))
  }
  return false
}

export interface AdapterErrors {
  /** For a code or refresh token a concurrent request consumed first. */
  alreadyConsumed: () => Error
  /** For a request parameter with a NUL in it, which the provider would otherwise store. */
  nullCharacters: () => Error
}

const PLAIN_ERRORS: AdapterErrors = {
  alreadyConsumed: () => new Error('already consumed'),
  nullCharacters: () => new Error(NULL_CHARACTERS),
}

/** The payload as stored: without the credential it would otherwise repeat (see the top of the file). */
function storedPayload(payload: AdapterPayload): AdapterPayload {
  const { jti: _jti, ...rest } = payload
  const session = rest.session as Record<string, unknown> | undefined
  if (session && typeof session === 'object' && 'cookie' in session) {
    const { cookie: _cookie, ...kept } = session
    return { ...rest, session: kept }
  }
  return rest
}

function epochToDate(seconds: number | undefined): Date | null {
  return typeof seconds === 'number' ? new Date(seconds * 1000) : null
}

/** The adapter for one model; `createAdapterFactory(db)` is what the provider's `adapter` option takes. */
export class KyselyAdapter implements Adapter {
  readonly #db: Db
  readonly #model: string
  readonly #errors: AdapterErrors

  constructor(db: Db, model: string, errors: AdapterErrors = PLAIN_ERRORS) {
    this.#db = db
    this.#model = model
    this.#errors = errors
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
    // A NUL comes only from a request parameter (state, nonce, login_hint, …) copied into the payload.
    if (holdsNull(payload)) throw this.#errors.nullCharacters()
    const expiresAt = expiresIn > 0 ? new Date(Date.now() + expiresIn * 1000) : epochToDate(payload.exp)
    const row = {
      payload: JSON.stringify(storedPayload(payload)),
      grant_id: GRANTABLE.has(this.#model) ? (payload.grantId ?? null) : null,
      user_code: payload.userCode ?? null,
      uid: payload.uid ?? null,
      expires_at: expiresAt,
      consumed_at: epochToDate(typeof payload.consumed === 'number' ? payload.consumed : undefined),
    }
    await this.#db
      .insertInto('oauth_payloads')
      .values({ model: this.#model, id: this.#key(id), ...row })
      .onConflict((oc) => oc.columns(['model', 'id']).doUpdateSet(row))
      .execute()
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    if (holdsNull(id)) return undefined
    if (this.#model === 'Client') return this.#findClient(id)
    const row = await this.#live().where('id', '=', this.#key(id)).executeTakeFirst()
    return row && { ...this.#toPayload(row), jti: id }
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    if (holdsNull(userCode)) return undefined
    const row = await this.#live().where('user_code', '=', userCode).executeTakeFirst()
    return row && this.#toPayload(row)
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    if (holdsNull(uid)) return undefined
    const row = await this.#live().where('uid', '=', uid).executeTakeFirst()
    return row && this.#toPayload(row)
  }

  async consume(id: string): Promise<void> {
    const consumed = await this.#db
      .updateTable('oauth_payloads')
      .set({ consumed_at: sql<Date>`now()` })
      .where('model', '=', this.#model)
      .where('id', '=', this.#key(id))
      .where('consumed_at', 'is', null)
      .returning('id')
      .executeTakeFirst()
    if (consumed || !GRANTABLE.has(this.#model)) return
    // The provider read this code or refresh token unconsumed, but a concurrent request consumed it
    // first: a replay racing the legitimate use. Without this check both would get tokens. Treated as
    // the provider treats a sequential replay: the grant and what was issued under it are revoked.
    await this.#db.transaction().execute(async (trx) => {
      const row = await trx
        .selectFrom('oauth_payloads')
        .select('grant_id')
        .where('model', '=', this.#model)
        .where('id', '=', this.#key(id))
        .executeTakeFirst()
      if (!row?.grant_id) return
      await trx.deleteFrom('oauth_payloads').where('grant_id', '=', row.grant_id).execute()
      await trx.deleteFrom('oauth_payloads').where('model', '=', 'Grant').where('id', '=', row.grant_id).execute()
    })
    throw this.#errors.alreadyConsumed()
  }

  async destroy(id: string): Promise<void> {
    if (holdsNull(id)) return
    await this.#db
      .deleteFrom('oauth_payloads')
      .where('model', '=', this.#model)
      .where('id', '=', this.#key(id))
      .execute()
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    await this.#db
      .deleteFrom('oauth_payloads')
      .where('model', '=', this.#model)
      .where('grant_id', '=', grantId)
      .execute()
  }

  /** The row key of the provider's id. */
  #key(id: string): string {
    return oauthPayloadId(this.#model, id)
  }

  #live() {
    return this.#db
      .selectFrom('oauth_payloads')
      .select(['payload', 'consumed_at'])
      .where('model', '=', this.#model)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', sql<Date>`now()`)]))
  }

  #toPayload(row: { payload: Record<string, unknown>; consumed_at: Date | null }): AdapterPayload {
    const payload = row.payload as AdapterPayload
    // `consumed` is how the provider tells a used code or rotated refresh token (reuse detection).
    return row.consumed_at ? { ...payload, consumed: Math.floor(row.consumed_at.getTime() / 1000) } : payload
  }

  async #findClient(id: string): Promise<AdapterPayload | undefined> {
    const row = await this.#db.selectFrom('oauth_clients').selectAll().where('id', '=', id).executeTakeFirst()
    return row && toClientMetadata(row)
  }
}

export function createAdapterFactory(db: Db, errors?: AdapterErrors): (model: string) => Adapter {
  return (model) => new KyselyAdapter(db, model, errors)
}

/**
 * Whether the OAuth access token with this `jti` is still live: issued here, not revoked (RFC 7009,
 * a reused code or refresh token, a deleted client, an app the user revoked) and not expired. JWT
 * access tokens verify offline; this one indexed read is what makes them revocable.
 */
export async function isOAuthAccessTokenLive(db: Db, jti: string): Promise<boolean> {
  if (holdsNull(jti)) return false
  const row = await db
    .selectFrom('oauth_payloads')
    .select('id')
    .where('model', 'in', ['AccessToken', 'ClientCredentials'])
    .where('id', '=', oauthPayloadId('AccessToken', jti)) // the same digest for either model
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', sql<Date>`now()`)]))
    .executeTakeFirst()
  return row !== undefined
}

/** Deletes expired rows (the provider never deletes what simply expires). */
export async function pruneOAuthPayloads(db: Db): Promise<number> {
  const result = await db
    .deleteFrom('oauth_payloads')
    .where('expires_at', '<=', sql<Date>`now()`)
    .executeTakeFirst()
  return Number(result.numDeletedRows)
}
