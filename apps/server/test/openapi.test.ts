/**
 * GET /api/openapi.json: the REST facade's OpenAPI 3.1 document, generated from the route table.
 * It must validate against the 3.1 schema, list every route of the table with its methods, and
 * describe requests as the server really takes them (checked by sending them).
 */
import { readFileSync } from 'node:fs'

import { Validator } from '@seriousme/openapi-schema-validator'
import { beforeAll, describe, expect, it } from 'vitest'

import { REST_VIEWS } from '../src/rest/routes.js'
import { METHODS } from '../src/rest/table.js'
import { wire } from './helpers/http.js'
import { sharedServer } from './helpers/server.js'

const PASSWORD = 'correct horse battery staple'
const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
  .version

const server = sharedServer()
let doc: any

beforeAll(async () => {
  const res = await wire(`${server.url}/api/openapi.json`)
  expect(res.status).toBe(200)
  doc = res.body
})

function form(fields: Record<string, string>) {
  return { 'content-type': 'application/x-www-form-urlencoded', body: new URLSearchParams(fields).toString() }
}

async function post(path: string, fields: Record<string, string>) {
  const { 'content-type': type, body } = form(fields)
  return wire(`${server.url}${path}`, { method: 'POST', body, headers: { 'content-type': type } })
}

describe('GET /api/openapi.json', () => {
  it('is served as JSON, the same document each time, with HEAD too', async () => {
    const res = await wire(`${server.url}/api/openapi.json`)
    expect(res.headers.get('content-type')).toBe('application/json')
    expect(res.body).toEqual(doc)
    const head = await fetch(`${server.url}/api/openapi.json`, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(head.headers.get('content-type')).toBe('application/json')
  })

  it('validates against the OpenAPI 3.1 schema', async () => {
    const validator = new Validator()
    const result = await validator.validate(structuredClone(doc))
    expect(result.errors).toBeUndefined()
    expect(result.valid).toBe(true)
    expect(validator.version).toBe('3.1')
    expect(doc.openapi).toBe('3.1.0')
    expect(doc.info.version).toBe(VERSION)
    expect(doc.servers).toEqual([{ url: '/' }])
    // The validator does refuse a broken document.
    const broken = structuredClone(doc)
    broken.components.securitySchemes.jwtAuth = { type: 'http' }
    expect((await new Validator().validate(broken)).valid).toBe(false)
  })

  it('lists every route of the table with exactly its methods, and no other path', () => {
    expect(Object.keys(doc.paths).sort()).toEqual(REST_VIEWS.map((v) => v.path).sort())
    for (const v of REST_VIEWS) {
      const methods = METHODS.filter((m) => v.operations[m]).map((m) => m.toLowerCase())
      expect(Object.keys(doc.paths[v.path]).sort(), v.path).toEqual(methods.sort())
      for (const m of methods)
        expect(doc.paths[v.path][m]['x-procedure']).toBe(v.operations[m.toUpperCase() as 'GET']?.procedure)
    }
    const ids = Object.values(doc.paths).flatMap((item: any) => Object.values(item).map((o: any) => o.operationId))
    expect(new Set(ids).size).toBe(ids.length)
  })

  it("describes register's body as the procedure's schema says, in every parsed media type", () => {
    const body = doc.paths['/api/register/'].post.requestBody
    expect(body.required).toBe(true)
    expect(Object.keys(body.content)).toEqual([
      'application/json',
      'application/x-www-form-urlencoded',
      'multipart/form-data',
    ])
    const schema = body.content['application/json'].schema
    expect(schema).toEqual({
      type: 'object',
      properties: {
        username: { type: 'string', minLength: 1, maxLength: 150 },
        password: { type: 'string', minLength: 1, maxLength: 4096 },
        email: { type: 'string', maxLength: 254 },
      },
      required: ['username', 'password'],
    })
    expect(doc.paths['/api/register/'].post.responses['201'].content['application/json'].schema).toEqual({
      type: 'object',
      properties: { username: { type: 'string' }, email: { type: 'string' } },
      required: ['username', 'email'],
    })
  })

  it('matches what the server takes: the required fields and the username bound', async () => {
    const schema = doc.paths['/api/register/'].post.requestBody.content['application/json'].schema
    const max: number = schema.properties.username.maxLength
    const full = { username: 'u'.repeat(max), password: PASSWORD }
    for (const field of schema.required as string[]) {
      const { [field]: _, ...missing } = full as Record<string, string>
      const res = await post('/api/register/', missing)
      expect(res.status).toBe(400)
      expect(res.body).toEqual({ [field]: ['This field is required.'] })
    }
    const tooLong = await post('/api/register/', { ...full, username: 'u'.repeat(max + 1) })
    expect(tooLong.status).toBe(400)
    expect(tooLong.body).toEqual({ username: [`Ensure this field has no more than ${max} characters.`] })
    const created = await post('/api/register/', full)
    expect(created.status).toBe(201)
    expect(Object.keys(created.body).sort()).toEqual(['email', 'username'])
  })

  it('renames input keys as the request spells them and splits path and query fields out', () => {
    const patch = doc.paths['/api/admin/users/{id}/'].patch
    expect(patch.parameters).toEqual([
      {
        name: 'id',
        in: 'path',
        required: true,
        schema: { type: 'integer', exclusiveMinimum: 0, maximum: 2147483647 },
      },
    ])
    const props = patch.requestBody.content['application/json'].schema.properties
    expect(Object.keys(props)).toEqual(['email', 'is_staff', 'is_superuser'])
    expect(patch.requestBody.required).toBe(false)
    const list = doc.paths['/api/admin/audit/'].get
    expect(list.requestBody).toBeUndefined()
    expect(list.parameters.map((p: any) => [p.name, p.in, p.required])).toEqual([
      ['event', 'query', false],
      ['user_id', 'query', false],
      ['username', 'query', false],
      ['cursor', 'query', false],
      ['limit', 'query', false],
    ])
    // A value the route always sends is not the client's to give.
    expect(
      Object.keys(doc.paths['/api/login/'].post.requestBody.content['application/json'].schema.properties),
    ).toEqual(['username', 'password'])
  })

  it('names the security scheme of each family', async () => {
    const schemes = doc.components.securitySchemes
    expect(schemes.jwtAuth).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
    expect(schemes.tokenAuth).toMatchObject({ type: 'apiKey', in: 'header', name: 'Authorization' })
    expect(schemes.sessionAuth).toMatchObject({ type: 'apiKey', in: 'cookie', name: 'sessionid' })
    expect(schemes.jwtCookieAuth).toMatchObject({ type: 'apiKey', in: 'cookie', name: 'access' })
    expect(schemes.oauthAuth).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: 'at+jwt' })
    expect(doc.paths['/api/token-auth/protected/'].get.security).toEqual([{ tokenAuth: [] }])
    expect(doc.paths['/api/protected/'].get.security).toEqual([{ jwtAuth: [] }])
    expect(doc.paths['/api/token/refresh/'].post.security).toEqual([])
    expect(doc.paths['/api/token/'].post.security).toEqual([])
    expect(doc.paths['/api/me/'].get.security).toEqual([
      { jwtAuth: [] },
      { tokenAuth: [] },
      { sessionAuth: [] },
      { jwtCookieAuth: [] },
    ])
    // OAuth access tokens only where the procedure declares scopes
    expect(doc.paths['/api/articles/'].get.security).toContainEqual({ oauthAuth: [] })
    // AllowAny: credentials optional.
    expect(doc.paths['/api/register/'].post.security).toEqual([{}, { jwtAuth: [] }])

    // And the server asks for exactly those schemes.
    const { username, password } = await server.createUser()
    const token = (await post('/api/token-auth/login/', { username, password })).body.token as string
    const access = (await post('/api/login/', { username, password })).body.access as string
    const asToken = await wire(`${server.url}/api/token-auth/protected/`, {
      headers: { authorization: `Token ${token}` },
    })
    expect(asToken.status).toBe(200)
    const bearerThere = await wire(`${server.url}/api/token-auth/protected/`, {
      headers: { authorization: `Bearer ${access}` },
    })
    expect(bearerThere.status).toBe(401)
    const asBearer = await wire(`${server.url}/api/protected/`, { headers: { authorization: `Bearer ${access}` } })
    expect(asBearer.status).toBe(200)
    expect(asBearer.body).toEqual({ message: 'This is a protected view' })
  })

  it('lists the error answers as shared components, referenced by each operation', () => {
    const responses = doc.components.responses
    expect(Object.keys(responses)).toEqual([
      'BadRequest',
      'Unauthorized',
      'Forbidden',
      'NotFound',
      'MethodNotAllowed',
      'PayloadTooLarge',
      'UnsupportedMediaType',
      'Throttled',
      'ServiceUnavailable',
    ])
    expect(responses.Throttled.headers['Retry-After'].schema).toEqual({ type: 'integer' })
    expect(responses.Unauthorized.headers['WWW-Authenticate']).toBeDefined()
    expect(responses.MethodNotAllowed.headers.Allow).toBeDefined()

    const register = doc.paths['/api/register/'].post.responses
    expect(Object.keys(register)).toEqual(['201', '400', '401', '403', '413', '415', '429', '503'])
    expect(register['400']).toEqual({ $ref: '#/components/responses/BadRequest' })
    expect(register['429']).toEqual({ $ref: '#/components/responses/Throttled' })
    const protectedGet = doc.paths['/api/protected/'].get.responses
    expect(Object.keys(protectedGet)).toEqual(['200', '401', '403', '429', '503'])
    expect(doc.paths['/api/articles/{id}/'].delete.responses['404']).toEqual({
      $ref: '#/components/responses/NotFound',
    })
    expect(doc.paths['/api/tokens/{id}/'].delete.responses['204']).toEqual({ description: 'Done; no body.' })

    // A route's own words: the seed's login answers bad input with its 401, never a 400.
    const login = doc.paths['/api/login/'].post.responses
    expect(login['400']).toBeUndefined()
    expect(login['401'].content['application/json'].examples.INVALID_INPUT.value).toEqual({
      detail: 'Invalid credentials',
    })
  })

  it('answers the login error it documents', async () => {
    const documented = doc.paths['/api/token-auth/login/'].post.responses['401'].content['application/json'].examples
    const res = await post('/api/token-auth/login/', { username: 'nobody', password: 'wrong' })
    expect(res.status).toBe(401)
    expect(res.body).toEqual(documented.INVALID_CREDENTIALS.value)
  })
})
