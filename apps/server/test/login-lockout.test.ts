/**
 * @see issue 16, item 5: anyone could lock a named user out. Ten wrong passwords for a name from
 * ten addresses made its owner's right password 429 from a clean address, on every sign-in path.
 * The hard limit is now per (username, address) and per address; per name alone, attempts are
 * delayed, never refused. Each path is attacked the same way; the delays are recorded, not slept.
 */
import { TEST_BACKEND } from '@gatehouse/db/testing'
import { beforeAll, describe, expect, it } from 'vitest'

import type { TestServer } from '../src/testing.js'
import { wire } from './helpers/http.js'
import { authorizeUrl, Browser, csrfOf, FORM, formAction, pkce, REDIRECT, registerClient } from './helpers/oauth.js'
import { sharedServer } from './helpers/server.js'

const delays: number[] = []
const sleep = (ms: number) => {
  delays.push(ms)
  return Promise.resolve()
}

type SignIn = (server: TestServer, who: { username: string; password: string; address: string }) => Promise<number>

function json(path: string): SignIn {
  return async (server, { username, password, address }) => {
    const res = await wire(`${server.url}${path}`, {
      method: 'POST',
      body: JSON.stringify({ username, password }),
      headers: { 'content-type': 'application/json', 'x-forwarded-for': address },
    })
    return res.status
  }
}

let clientId = ''

/** The OAuth server's sign-in page: start an authorization, post the form. 303 on success. */
const oauthPage: SignIn = async (server, { username, password, address }) => {
  const browser = new Browser()
  const { challenge } = pkce()
  const page = await browser.follow(
    authorizeUrl({ base: server.url, clientId, redirectUri: REDIRECT, scope: 'openid', challenge }),
    server.url,
  )
  const res = await browser.fetch(`${server.url}${formAction(page.text, 'login')}`, {
    method: 'POST',
    body: new URLSearchParams({ csrf: csrfOf(page.text), username, password }).toString(),
    headers: { 'content-type': FORM, 'x-forwarded-for': address },
  })
  return res.status
}

const PATHS: [string, SignIn, number][] = [
  ['auth.login (JWT)', json('/trpc/auth.login'), 200],
  ['auth.session.login', json('/trpc/auth.session.login'), 200],
  ['auth.sliding.obtain', json('/trpc/auth.sliding.obtain'), 200],
  ['auth.tokens.obtain (API key)', json('/trpc/auth.tokens.obtain'), 200],
  ['POST /api/token/ (REST twin)', json('/api/token/'), 200],
  ['the OAuth sign-in page', oauthPage, 303],
]

describe(`${TEST_BACKEND}: a named user cannot be locked out`, () => {
  const server = sharedServer({ THROTTLE_LOGIN_FAILURES: '3/15m', NUM_PROXIES: '1' }, { sleep })
  let n = 0

  beforeAll(async () => {
    const created = await registerClient(server.db, {
      name: 'Web',
      grants: ['authorization_code'],
      redirectUris: [REDIRECT],
      scopes: 'openid',
    })
    clientId = created.clientId
  })

  for (const [name, signIn, ok] of PATHS) {
    it(`attack (${name}): wrong passwords from many addresses; the owner still signs in from a clean one`, async () => {
      n += 1
      const user = await server.createUser({ username: `victim${n}` })
      const wrong = { username: user.username, password: 'wrong-passphrase' }
      for (let i = 1; i <= 4; i += 1) {
        expect(await signIn(server, { ...wrong, address: `203.0.${n}.${i}` })).toBe(401)
      }
      delays.length = 0
      expect(await signIn(server, { ...user, address: `198.51.${n}.1` })).toBe(ok)
      // the name is past its 3 failures: the owner waited (1 s, then 2 s, …), and was let in
      expect(delays).toEqual([2000])
    })

    it(`attack (${name}): one address guessing at one name is refused at the limit, others are not`, async () => {
      n += 1
      const user = await server.createUser({ username: `target${n}` })
      const address = `203.0.${n}.9`
      for (let i = 0; i < 3; i += 1) {
        expect(await signIn(server, { username: user.username, password: 'wrong-passphrase', address })).toBe(401)
      }
      expect(await signIn(server, { ...user, address })).toBe(429)
      expect(await signIn(server, { ...user, address: `198.51.${n}.2` })).toBe(ok)
    })
  }

  it('still refuses one address that stuffs credentials across names', async () => {
    const address = '192.0.2.77'
    for (const username of ['anna', 'bob', 'carl']) {
      expect(await json('/trpc/auth.login')(server, { username, password: 'guess-123', address })).toBe(401)
    }
    const user = await server.createUser()
    expect(await json('/trpc/auth.login')(server, { ...user, address })).toBe(429)
  })

  it('attack: addresses of one IPv6 /64 share one address counter', async () => {
    for (const [i, username] of ['dora', 'egon', 'fritz'].entries()) {
      const address = `2001:db8:77:1::${i + 1}`
      expect(await json('/trpc/auth.login')(server, { username, password: 'guess-123', address })).toBe(401)
    }
    const user = await server.createUser()
    expect(await json('/trpc/auth.login')(server, { ...user, address: '2001:db8:77:1:ffff::9' })).toBe(429)
    expect(await json('/trpc/auth.login')(server, { ...user, address: '2001:db8:77:2::1' })).toBe(200)
  })
})
