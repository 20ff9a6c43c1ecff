/**
 * Secrets at rest: what a backup, a replica or a read-only SQL injection finds in the database must
 * not be the power to sign tokens, forge the OAuth server's cookies and CSRF tokens, or redeem a
 * code or a refresh token.
 */
import { createHmac } from 'node:crypto'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'

import { SecretBox, SecretKeyError } from '@gatehouse/auth'
import { TEST_SECRET_KEY } from '@gatehouse/auth/testing'
import { TEST_BACKEND } from '@gatehouse/db/testing'
import type { JWK } from 'jose'
import { importJWK, SignJWT } from 'jose'
import { describe, expect, it } from 'vitest'

import { startApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { sealStoredSecrets } from '../src/stored-secrets.js'
import { startTestServer } from '../src/testing.js'
import { login, mutation, query } from './helpers/http.js'
import { authorize, authorizeUrl, basic, Browser, formPost, REDIRECT, tokenRequest } from './helpers/oauth.js'
import { oauthTestbed } from './helpers/oauth-testbed.js'
import { createProcessStore, runCli, startServerProcess } from './helpers/process.js'

const OTHER_KEY = 'another-secret-key-of-enough-length-0123456789'

/** What an attacker holding a copy of `signing_keys` does: sign an access token with each private key found. */
async function forgeWith(row: { kid: string; algorithm: string; private_jwk: unknown }, userId: number) {
  let jwk: JWK
  try {
    jwk = (typeof row.private_jwk === 'string' ? JSON.parse(row.private_jwk) : row.private_jwk) as JWK
    const key = await importJWK(jwk, row.algorithm)
    const now = Math.floor(Date.now() / 1000)
    return await new SignJWT({ token_type: 'access', user_id: userId, jti: crypto.randomUUID(), epoch: 0 })
      .setProtectedHeader({ alg: row.algorithm, kid: row.kid, typ: 'JWT' })
      .setSubject(String(userId))
      .setIssuedAt(now)
      .setExpirationTime(now + 300)
      .sign(key)
  } catch {
    return null
  }
}

describe(`${TEST_BACKEND}: secrets at rest`, () => {
  // Two processes on one database name one issuer, or each refuses the other's tokens (iss).
  const ISSUER = 'http://gatehouse.test'
  const { server, web, api, alice } = oauthTestbed({
    env: { JWT_ISSUER: ISSUER },
    clients: {
      service: { name: 'Service', scopes: 'read' },
      web: { name: 'Web', scopes: 'openid read' },
      spa: { name: 'Spa', scopes: 'openid read' },
    },
  })

  it('attack: a copy of signing_keys signs no token the server accepts', async () => {
    await server.auth.rotateKeys()
    const rows = await server.db.selectFrom('signing_keys').select(['kid', 'algorithm', 'private_jwk']).execute()
    expect(rows.length).toBeGreaterThanOrEqual(2)
    for (const row of rows) {
      const forged = await forgeWith(row, alice.id)
      expect(forged, `signing key ${row.kid}`).toBeNull()
    }
  })

  it('attack: a copy of oauth_secrets computes no CSRF token of the sign-in page', async () => {
    const browser = new Browser()
    const page = await browser.follow(
      authorizeUrl({ base: server.url, clientId: web.clientId, redirectUri: REDIRECT, scope: 'openid read' }),
      server.url,
    )
    expect(page.status).toBe(200)
    const uid = /\/oauth\/interaction\/([^/"]+)\/login/.exec(page.text)?.[1] ?? ''
    const csrf = /name="csrf" value="([^"]+)"/.exec(page.text)?.[1] ?? ''
    expect(uid).not.toBe('')
    const rows = await server.db.selectFrom('oauth_secrets').select(['name', 'secret']).execute()
    expect(rows.map((r) => r.name).sort()).toEqual(['cookie-key', 'interaction-csrf-key'])
    const computed = rows.map((row) =>
      createHmac('sha256', row.secret).update(`interaction:${uid}`).digest('base64url'),
    )
    expect(computed).not.toContain(csrf)
    for (const row of rows) expect(row.secret, row.name).toMatch(/^v1\./)
  })

  it('attack: oauth_payloads holds no authorization code or refresh token, and the flow still works', async () => {
    const dump = async () => JSON.stringify(await server.db.selectFrom('oauth_payloads').selectAll().execute())
    const { params, verifier } = await authorize(new Browser(), {
      base: server.url,
      clientId: web.clientId,
      redirectUri: REDIRECT,
      scope: 'openid read',
      user: alice,
    })
    const code = params.get('code') ?? ''
    expect(code).not.toBe('')
    expect(await dump()).not.toContain(code)

    const auth = basic(web.clientId, web.secret)
    const tokens = await tokenRequest(server.url, {
      form: { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier ?? '' },
      authorization: auth,
    })
    expect(tokens.status).toBe(200)
    const first = tokens.body.refresh_token as string
    expect(await dump()).not.toContain(first)

    const refreshed = await tokenRequest(server.url, {
      form: { grant_type: 'refresh_token', refresh_token: first },
      authorization: auth,
    })
    expect(refreshed.status).toBe(200)
    const second = refreshed.body.refresh_token as string
    expect(second).not.toBe(first)
    const stored = await dump()
    for (const value of [code, first, second]) expect(stored).not.toContain(value)
    expect((await query(server.url, 'content.scoped', { token: refreshed.body.access_token as string })).status).toBe(
      200,
    )

    const introspection = `${server.url}/oauth/token/introspection`
    // introspection is for resource servers only (issue 16, item 10)
    const asApi = basic(api.clientId, api.secret)
    const active = await formPost(introspection, { form: { token: second }, authorization: asApi })
    expect(active.body).toMatchObject({ active: true, client_id: web.clientId, sub: String(alice.id) })
    const revoked = await formPost(`${server.url}/oauth/token/revocation`, {
      form: { token: second, token_type_hint: 'refresh_token' },
      authorization: auth,
    })
    expect(revoked.status).toBe(200)
    expect((await formPost(introspection, { form: { token: second }, authorization: asApi })).body).toEqual({
      active: false,
    })
    const after = await tokenRequest(server.url, {
      form: { grant_type: 'refresh_token', refresh_token: second },
      authorization: auth,
    })
    expect(after.status).toBe(400)
    expect(after.body.error).toBe('invalid_grant')
    // The code was single use, and still is.
    const replay = await tokenRequest(server.url, {
      form: { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier ?? '' },
      authorization: auth,
    })
    expect(replay.status).toBe(400)
    expect(replay.body.error).toBe('invalid_grant')
  })

  /** Another server process on the same database, as of a restart or a second instance. */
  const startSecond = (env: Record<string, string> = {}) =>
    startApp({
      config: loadConfig({
        PORT: '0',
        HOST: '127.0.0.1',
        PASSWORD_HASH_COST: '4',
        SECRET_KEY: TEST_SECRET_KEY,
        JWT_ISSUER: ISSUER,
        ...env,
      }),
      db: server.db,
    })

  it('attack: a private key copied onto another kid does not decrypt, and the start stops naming that kid', async () => {
    const [a, b] = await server.db
      .selectFrom('signing_keys')
      .select(['kid', 'private_jwk'])
      .where('retired_at', 'is', null)
      .orderBy('created_at')
      .execute()
    if (!a || !b) throw new Error('expected two keys (the first test rotates)')
    await server.db.updateTable('signing_keys').set({ private_jwk: a.private_jwk }).where('kid', '=', b.kid).execute()
    try {
      const started = startSecond()
      await expect(started).rejects.toThrow(SecretKeyError)
      await expect(started).rejects.toThrow(
        `cannot decrypt signing key "${b.kid}": it was encrypted under another secret key, or altered`,
      )
    } finally {
      await server.db.updateTable('signing_keys').set({ private_jwk: b.private_jwk }).where('kid', '=', b.kid).execute()
    }
  })

  it('a SECRET_KEY that opens none of the stored keys stops the start; listed as a fallback it opens them', async () => {
    await expect(startSecond({ SECRET_KEY: OTHER_KEY })).rejects.toThrow(/^cannot decrypt signing key "[\w-]+": /)
    await using second = await startSecond({ SECRET_KEY: OTHER_KEY, SECRET_KEY_FALLBACKS: TEST_SECRET_KEY })
    const { access } = await login(second.url, alice)
    expect((await query(server.url, 'auth.me', { token: access })).status).toBe(200)
  })

  it('secrets stored in clear (before this release) are encrypted at the next start; tokens signed before still verify', async () => {
    const before = await login(server.url, alice)
    const box = server.auth.secrets
    for (const row of await server.db.selectFrom('signing_keys').select(['kid', 'private_jwk']).execute()) {
      const clear = box.open(row.private_jwk, `signing_keys:${row.kid}`).plaintext
      await server.db.updateTable('signing_keys').set({ private_jwk: clear }).where('kid', '=', row.kid).execute()
    }
    for (const row of await server.db.selectFrom('oauth_secrets').select(['name', 'secret']).execute()) {
      const clear = box.open(row.secret, `oauth_secrets:${row.name}`).plaintext
      await server.db.updateTable('oauth_secrets').set({ secret: clear }).where('name', '=', row.name).execute()
    }
    await using second = await startSecond()
    const keys = await server.db.selectFrom('signing_keys').select('private_jwk').execute()
    const secrets = await server.db.selectFrom('oauth_secrets').select('secret').execute()
    for (const value of [...keys.map((k) => k.private_jwk), ...secrets.map((r) => r.secret)]) {
      expect(SecretBox.isSealed(value)).toBe(true)
    }
    expect((await query(second.url, 'auth.me', { token: before.access })).status).toBe(200)
    const after = await mutation(second.url, 'auth.refresh', { refresh: before.refresh })
    expect(after.status).toBe(200)
  })
})

describe(`${TEST_BACKEND}: re-encrypting under a new SECRET_KEY`, () => {
  it('sealStoredSecrets re-encrypts what a fallback opened, and counts', async () => {
    await using server = await startTestServer()
    const rotated = new SecretBox({ secretKey: OTHER_KEY, fallbacks: [TEST_SECRET_KEY] })
    const first = await sealStoredSecrets(server.db, rotated, { reencrypt: true })
    expect(first).toEqual({
      signingKeys: { encrypted: 0, reencrypted: 1, unchanged: 0 },
      oauthSecrets: { encrypted: 0, reencrypted: 2, unchanged: 0 },
    })
    const again = await sealStoredSecrets(server.db, new SecretBox({ secretKey: OTHER_KEY }), { reencrypt: true })
    expect(again).toEqual({
      signingKeys: { encrypted: 0, reencrypted: 0, unchanged: 1 },
      oauthSecrets: { encrypted: 0, reencrypted: 0, unchanged: 2 },
    })
  })
})

describe(`${TEST_BACKEND}: SECRET_KEY in a server process`, () => {
  it('unset: a 0600 key file in DATA_DIR; another key stops the start with one line; encryptsecrets moves to it', async () => {
    const store = await createProcessStore('gh_secret_key')
    try {
      const first = await startServerProcess(store.env)
      const username = `sk${Date.now()}`
      expect((await mutation(first.url, 'auth.register', { username, password: 'Tr1cky-passphrase' })).status).toBe(200)
      const output = first.output()
      expect(await first.stop()).toBe(0)
      const file = join(store.dataDir, 'secret_key')
      expect((await stat(file)).mode & 0o777).toBe(0o600)
      const generated = (await readFile(file, 'utf8')).trim()
      expect(generated).toMatch(/^[\w-]{43}$/)
      // Embedded: the key sits beside the data. On Postgres the operator is told to set SECRET_KEY.
      const warning = `gatehouse: warning: SECRET_KEY is unset: using the key in ${file}; set SECRET_KEY (and keep it apart from database backups) in production`
      if (TEST_BACKEND === 'postgres') expect(output).toContain(warning)
      else expect(output).not.toContain('warning')

      const refused = await startServerProcess({ ...store.env, SECRET_KEY: OTHER_KEY }).then(
        () => null,
        (err: unknown) => String(err),
      )
      const lines = (refused ?? '').split('\n').slice(1).filter(Boolean)
      expect(lines).toHaveLength(1)
      expect(lines[0]).toMatch(
        /^gatehouse: invalid configuration: SECRET_KEY: cannot decrypt signing key "[\w-]+": it was encrypted under another secret key, or altered; set the SECRET_KEY it was encrypted under, or list that key in SECRET_KEY_FALLBACKS$/,
      )
      expect(refused).not.toContain(OTHER_KEY)

      const moved = await runCli(['encryptsecrets'], {
        ...store.env,
        SECRET_KEY: OTHER_KEY,
        SECRET_KEY_FALLBACKS: generated,
      })
      expect(moved).toEqual({
        code: 0,
        stdout:
          'Signing keys: 0 encrypted, 1 re-encrypted under SECRET_KEY, 0 already under it.\n' +
          'OAuth secrets: 0 encrypted, 2 re-encrypted under SECRET_KEY, 0 already under it.\n',
        stderr: '',
      })
      await using again = await startServerProcess({ ...store.env, SECRET_KEY: OTHER_KEY })
      expect((await mutation(again.url, 'auth.login', { username, password: 'Tr1cky-passphrase' })).status).toBe(200)
    } finally {
      await store.dispose()
    }
  }, 240_000) // three server starts and a CLI run, each its own process
})
