/**
 * Input Postgres cannot take, sent to every procedure. U+0000 is stored in neither text nor jsonb,
 * so before these checks a NUL that reached a query failed it: auth.login, auth.tokens.obtain,
 * the REST token views, the OAuth sign-in form, /oauth/token's client_id, introspection and
 * revocation all answered 500. Now every string field refuses it with DRF's CharField message,
 * and the OAuth server treats it as matching nothing (or as an invalid request). Likewise an id
 * past Postgres's `integer` failed every lookup by id with a 500.
 */
import { TEST_BACKEND } from '@gatehouse/db/testing'
import { beforeAll, describe, expect, it } from 'vitest'
import type * as z from 'zod'

import { appRouter } from '../src/routers/_app.js'
import { errorBody, login, mutation, query, wire } from './helpers/http.js'
import {
  authorizeUrl,
  basic,
  Browser,
  createTestClients,
  csrfOf,
  FORM,
  formAction,
  formPost,
  REDIRECT,
  tokenRequest,
} from './helpers/oauth.js'
import { sharedServer } from './helpers/server.js'

const NUL = 'a\u0000b'
const NULL_CHARACTERS = 'Null characters are not allowed.'

type Def = Record<string, any>
const defOf = (schema: unknown) => (schema as { _zod: { def: Def } })._zod.def

/**
 * A valid value for each field of an object schema, except `text` in every string (and string
 * list) and `integer` in every number; the fields that got them.
 */
function poisoned(
  schema: z.ZodType,
  o: { text: string; integer: number },
): { input: Record<string, unknown>; stringFields: string[]; numberFields: string[] } | null {
  let def = defOf(schema)
  if (def.type === 'optional') def = defOf(def.innerType)
  if (def.type !== 'object' || !def.shape) return null
  const input: Record<string, unknown> = {}
  const stringFields: string[] = []
  const numberFields: string[] = []
  for (const [key, field] of Object.entries(def.shape)) {
    let inner = defOf(field)
    const optional = inner.type === 'optional'
    while (inner.type === 'optional' || inner.type === 'nullable' || inner.type === 'default') {
      inner = defOf(inner.innerType)
    }
    if (inner.type === 'string') {
      input[key] = o.text
      stringFields.push(key)
    } else if (inner.type === 'array' && inner.element._zod.def.type === 'string') {
      input[key] = [o.text]
      stringFields.push(`${key}.0`)
    } else if (inner.type === 'array' && inner.element._zod.def.type === 'enum') {
      input[key] = [Object.values(inner.element._zod.def.entries)[0]]
    } else if (inner.type === 'number') {
      input[key] = o.integer
      numberFields.push(key)
    } else if (inner.type === 'boolean') input[key] = true
    else if (inner.type === 'enum') input[key] = Object.values(inner.entries)[0]
    else if (!optional) throw new Error(`no sample value for ${key} (${inner.type})`) // else left out
  }
  return { input, stringFields, numberFields }
}

describe(`${TEST_BACKEND}: input Postgres cannot take (NUL, ids past integer)`, () => {
  const server = sharedServer()
  let root: { id: number; username: string; password: string }
  let web: { clientId: string; secret: string }

  beforeAll(async () => {
    root = await server.createUser({ isStaff: true, isSuperuser: true })
    ;({ web } = await createTestClients(server.db, {
      service: { name: 'Service', scopes: 'read' },
      web: { name: 'Web', scopes: 'openid read' },
      spa: { name: 'SPA', scopes: 'openid' },
    }))
  })

  /**
   * Each procedure with an object input that has a `kind` field, called as a superuser with
   * `poisoned` input (the others are not called: an id of 1 would deactivate the caller).
   */
  async function* callEach(o: { text: string; integer: number; kind: 'stringFields' | 'numberFields' }) {
    for (const [path, procedure] of Object.entries(appRouter._def.procedures)) {
      const def = (procedure as unknown as { _def: { type: string; inputs: z.ZodType[] } })._def
      const sample = def.inputs[0] && poisoned(def.inputs[0], o)
      if (!sample || sample[o.kind].length === 0) continue
      // a fresh superuser token each time: passes every permission, whatever ran before
      const { access } = await login(server.url, root)
      const res =
        def.type === 'query'
          ? await query(server.url, path, { input: sample.input, token: access })
          : await mutation(server.url, path, sample.input, access)
      yield { path, sample, res }
    }
  }

  it('every procedure refuses NUL in each string field with 400 and DRF’s message for that field', async () => {
    const checked: string[] = []
    for await (const { path, sample, res } of callEach({ text: NUL, integer: 1, kind: 'stringFields' })) {
      const fieldErrors = (res.body?.error?.data?.fieldErrors ?? {}) as Record<string, string[]>
      expect({ path, status: res.status, reason: res.body?.error?.data?.reason }).toEqual({
        path,
        status: 400,
        reason: 'INVALID_INPUT',
      })
      for (const field of sample.stringFields)
        expect({ path, field, errors: fieldErrors[field] }).toMatchObject({
          path,
          field,
          errors: expect.arrayContaining([NULL_CHARACTERS]),
        })
      checked.push(path)
    }
    // the login paths that answered 500 are among them
    expect(checked).toEqual(
      expect.arrayContaining(['auth.login', 'auth.tokens.obtain', 'auth.session.login', 'auth.tokens.revoke']),
    )
  })

  it('an id past Postgres’s integer is 400 naming the field, in every procedure; never a 500', async () => {
    const refused: string[] = []
    for await (const { path, res } of callEach({ text: 'x', integer: 2 ** 31, kind: 'numberFields' })) {
      expect({ path, status: res.status }).not.toEqual({ path, status: 500 })
      const fieldErrors = (res.body?.error?.data?.fieldErrors ?? {}) as Record<string, string[]>
      if (res.status === 400) refused.push(...Object.keys(fieldErrors).map((field) => `${path} ${field}`))
    }
    expect(refused).toEqual(
      expect.arrayContaining(['admin.users.get id', 'articles.get id', 'articles.share id', 'admin.audit.list userId']),
    )
    const { access } = await login(server.url, root)
    const get = await query(server.url, 'articles.get', { input: { id: 2 ** 31 }, token: access })
    expect(get.body).toEqual(
      errorBody({
        message: 'id: Ensure this value is less than or equal to 2147483647.',
        code: 'BAD_REQUEST',
        httpStatus: 400,
        path: 'articles.get',
        reason: 'INVALID_INPUT',
        fieldErrors: { id: ['Ensure this value is less than or equal to 2147483647.'] },
      }),
    )
    // the REST facade looks ids up from the path as Django does: a number no row can have is 404
    const rest = await wire(`${server.url}/api/articles/${2 ** 31}/`, {
      headers: { authorization: `Bearer ${access}` },
    })
    expect([rest.status, rest.body]).toEqual([404, { detail: 'Not found.' }])
  })

  it('auth.login: 400 naming both fields', async () => {
    const res = await mutation(server.url, 'auth.login', { username: NUL, password: NUL })
    expect(res.status).toBe(400)
    expect(res.body).toEqual(
      errorBody({
        message: `username: ${NULL_CHARACTERS}; password: ${NULL_CHARACTERS}`,
        code: 'BAD_REQUEST',
        httpStatus: 400,
        path: 'auth.login',
        reason: 'INVALID_INPUT',
        fieldErrors: { username: [NULL_CHARACTERS], password: [NULL_CHARACTERS] },
      }),
    )
  })

  it('the REST token views answer as DRF does: 400 {"username": ["Null characters are not allowed."]}', async () => {
    const json = await wire(`${server.url}/api/token/`, {
      method: 'POST',
      body: JSON.stringify({ username: NUL, password: 'x' }),
      headers: { 'content-type': 'application/json' },
    })
    expect([json.status, json.body]).toEqual([400, { username: [NULL_CHARACTERS] }])
    const form = await wire(`${server.url}/api/api-token-auth/`, {
      method: 'POST',
      body: 'username=a%00b&password=x',
      headers: { 'content-type': FORM },
    })
    expect([form.status, form.body]).toEqual([400, { username: [NULL_CHARACTERS] }])
    const { access } = await login(server.url, root)
    const path = await wire(`${server.url}/api/tokens/a%00b/`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${access}` },
    })
    expect([path.status, path.body]).toEqual([400, { id: [NULL_CHARACTERS] }])
  })

  it('the OAuth server: a NUL id matches nothing, a NUL parameter is an invalid request', async () => {
    const cc = await tokenRequest(server.url, {
      form: { grant_type: 'client_credentials', client_id: NUL, client_secret: 'x' },
    })
    expect([cc.status, cc.body.error]).toEqual([401, 'invalid_client'])
    const code = await tokenRequest(server.url, {
      form: { grant_type: 'authorization_code', code: NUL, redirect_uri: REDIRECT, code_verifier: NUL },
      authorization: basic(web.clientId, web.secret),
    })
    expect([code.status, code.body.error]).toEqual([400, 'invalid_grant'])
    const introspected = await formPost(`${server.url}/oauth/token/introspection`, {
      form: { token: NUL },
      authorization: basic(web.clientId, web.secret),
    })
    expect([introspected.status, introspected.body]).toEqual([200, { active: false }])
    const revoked = await formPost(`${server.url}/oauth/token/revocation`, {
      form: { token: NUL },
      authorization: basic(web.clientId, web.secret),
    })
    expect(revoked.status).toBe(200)

    const unknownClient = await new Browser().fetch(
      authorizeUrl({ base: server.url, clientId: NUL, redirectUri: REDIRECT, scope: 'openid' }),
    )
    expect(unknownClient.status).toBe(400)
    // a parameter the provider would store with the interaction goes back to the client as an error
    for (const extra of [{ state: NUL }, { nonce: NUL }, { login_hint: NUL }] as Record<string, string>[]) {
      const res = await new Browser().fetch(
        authorizeUrl({ base: server.url, clientId: web.clientId, redirectUri: REDIRECT, scope: 'openid', extra }),
      )
      expect(res.status).toBe(303)
      const params = new URL(res.headers.get('location') ?? '').searchParams
      expect([params.get('error'), params.get('error_description')]).toEqual(['invalid_request', NULL_CHARACTERS])
    }
  })

  it('the OAuth sign-in page: 400 with the message, the username not echoed', async () => {
    const browser = new Browser()
    const page = await browser.follow(
      authorizeUrl({ base: server.url, clientId: web.clientId, redirectUri: REDIRECT, scope: 'openid' }),
      server.url,
    )
    const res = await browser.fetch(`${server.url}${formAction(page.text, 'login')}`, {
      method: 'POST',
      body: new URLSearchParams({ csrf: csrfOf(page.text), username: NUL, password: 'x' }).toString(),
      headers: { 'content-type': FORM },
    })
    expect(res.status).toBe(400)
    expect(res.text).toContain(NULL_CHARACTERS)
    expect(res.text).not.toContain('\u0000')
  })
})
