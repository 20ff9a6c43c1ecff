/**
 * A Postman collection (v2.1) and environment generated from the OpenAPI document: every request's
 * method, URL, body fields and Authorization header come from an operation of the document, so a
 * route added to the table shows up here with nothing else to write. What is written here is the
 * order of the tutorial's flows and what each step asserts and keeps (the tokens), in Postman's
 * test-script language, run by Postman or by newman.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

type JsonSchema = Record<string, unknown>
type Json = Record<string, unknown>

const SCHEMA_URL = 'https://schema.getpostman.com/json/collection/v2.1.0/collection.json'
export const COLLECTION_FILE = 'gatehouse.postman_collection.json'
export const ENVIRONMENT_FILE = 'gatehouse.postman_environment.json'

/** The environment's variables: the server, and the credentials the flows keep between requests. */
export const ENVIRONMENT_VARIABLES = ['base_url', 'access', 'refresh', 'token'] as const

/** How each security scheme of the document is sent, in the environment's variables. */
const AUTH_HEADERS: Readonly<Record<string, string>> = {
  jwtAuth: 'Bearer {{access}}',
  tokenAuth: 'Token {{token}}',
}

/**
 * Body fields whose value is a variable rather than a placeholder. Usernames are made unique per
 * run by the flows' pre-request scripts; the password passes Django's four validators.
 */
const FIELD_VALUES: Readonly<Record<string, string>> = {
  username: '{{username}}',
  password: '{{password}}',
  email: '{{username}}@example.com',
  refresh: '{{refresh}}',
  token: '{{access}}',
}
const PASSWORD = 'Lantern-Heron-Quartz-42'

interface OperationRef {
  path: string
  method: string
  operation: Json
}

/** One request of a flow: the operation it sends, what it asserts and what it keeps. */
interface Step {
  name: string
  operationId: string
  /** Body fields to send other than the generated ones (by the wire's field names). */
  body?: Record<string, string>
  /** Send this security scheme (or none) instead of the operation's first. */
  auth?: string | null
  status: number
  /** Script lines run before the request. */
  before?: string[]
  /** Test-script lines after the status check; `body` is the parsed JSON response. */
  tests?: string[]
  description?: string
}

const newUser = (prefix: string, variable: string) => [
  `// A username of its own on each run, so the collection can run again on the same database.`,
  `pm.collectionVariables.set('${variable}', '${prefix}' + Date.now() + Math.floor(Math.random() * 1000))`,
]
const eql = (expected: string) => [`pm.test('body', () => pm.expect(body).to.eql(${expected}))`]
const isJwt = (expr: string) => `pm.expect(${expr}).to.match(/^[\\w-]+\\.[\\w-]+\\.[\\w-]+$/)`
const FORBIDDEN = "{ detail: 'You do not have permission to perform this action.' }"

/** The seed's code-2 tutorial with simplejwt, in order. */
const TUTORIAL_FLOW: Step[] = [
  {
    name: 'Register',
    operationId: 'post_api_register',
    status: 201,
    before: newUser('tutorial_', 'username'),
    tests: eql(
      "{ username: pm.collectionVariables.get('username'), email: pm.collectionVariables.get('username') + '@example.com' }",
    ),
  },
  {
    name: 'Login',
    operationId: 'post_api_login',
    status: 200,
    tests: [
      `pm.test('a JWT pair', () => {`,
      `  pm.expect(Object.keys(body)).to.eql(['access', 'refresh'])`,
      `  ${isJwt('body.access')}`,
      `  ${isJwt('body.refresh')}`,
      `})`,
      `pm.environment.set('access', body.access)`,
      `pm.environment.set('refresh', body.refresh)`,
    ],
  },
  {
    name: 'Protected',
    operationId: 'get_api_protected',
    status: 200,
    tests: eql("{ message: 'This is a protected view' }"),
  },
  {
    name: 'Admin-only content (a plain user is refused)',
    operationId: 'get_api_admin_content',
    status: 403,
    tests: eql(FORBIDDEN),
    description:
      'The tutorial registers a plain user: 403. Make them an admin (`pnpm gatehouse addtogroup USERNAME Admin`) and this answers 200 `{"content": "Admin-only content"}`.',
  },
  {
    name: 'Refresh',
    operationId: 'post_api_token_refresh',
    status: 200,
    before: [`pm.collectionVariables.set('rotated_refresh', pm.environment.get('refresh'))`],
    tests: [
      `pm.test('a new pair; the old refresh token is rotated out', () => {`,
      `  ${isJwt('body.access')}`,
      `  pm.expect(body.refresh).to.not.equal(pm.collectionVariables.get('rotated_refresh'))`,
      `})`,
      `pm.environment.set('access', body.access)`,
      `pm.environment.set('refresh', body.refresh)`,
    ],
  },
  {
    name: 'Protected with the new access token',
    operationId: 'get_api_protected',
    status: 200,
    tests: eql("{ message: 'This is a protected view' }"),
  },
  {
    name: 'Logout',
    operationId: 'post_api_logout',
    status: 200,
    tests: eql("{ detail: 'Successfully logged out.' }"),
  },
  {
    name: 'Refresh after logout is refused',
    operationId: 'post_api_token_refresh',
    status: 401,
    tests: [
      ...eql("{ detail: 'Token is blacklisted', code: 'token_not_valid' }"),
      `pm.test('WWW-Authenticate', () => pm.expect(pm.response.headers.get('WWW-Authenticate')).to.equal('Bearer realm="api"'))`,
    ],
  },
]

/** The seed's code-1 tutorial with DRF's TokenAuthentication. */
const TOKEN_FLOW: Step[] = [
  {
    name: 'Register (token auth)',
    operationId: 'post_api_token_auth_register',
    body: { username: '{{token_username}}' },
    status: 201,
    before: newUser('token_', 'token_username'),
    tests: [
      `pm.test('the username and a token', () => {`,
      `  pm.expect(body.username).to.equal(pm.collectionVariables.get('token_username'))`,
      `  pm.expect(body.token).to.be.a('string').and.not.empty`,
      `})`,
      `pm.environment.set('token', body.token)`,
    ],
  },
  {
    name: 'Login (token auth)',
    operationId: 'post_api_token_auth_login',
    body: { username: '{{token_username}}' },
    status: 200,
    tests: [
      `pm.test('a token', () => pm.expect(Object.keys(body)).to.eql(['token']))`,
      `pm.environment.set('token', body.token)`,
    ],
  },
  {
    name: 'Protected (token auth)',
    operationId: 'get_api_token_auth_protected',
    status: 200,
    tests: eql("{ message: 'Hello, I am a protected content. Only authorised users can access me!' }"),
  },
  {
    name: 'Protected without the token',
    operationId: 'get_api_token_auth_protected',
    auth: null,
    status: 401,
    tests: [
      ...eql("{ detail: 'Authentication credentials were not provided.' }"),
      `pm.test('WWW-Authenticate', () => pm.expect(pm.response.headers.get('WWW-Authenticate')).to.equal('Token'))`,
    ],
  },
]

function operations(doc: Json): Map<string, OperationRef> {
  const found = new Map<string, OperationRef>()
  for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, Json>>)) {
    for (const [method, operation] of Object.entries(item)) {
      found.set(operation.operationId as string, { path, method: method.toUpperCase(), operation })
    }
  }
  return found
}

/** A value for a field: the flows' variable, or a placeholder of the schema's type. */
function exampleOf(name: string, schema: JsonSchema | undefined): unknown {
  const variable = FIELD_VALUES[name]
  if (variable) return variable
  if (!schema) return ''
  if (schema.type === 'boolean') return false
  if (schema.type === 'integer' || schema.type === 'number') return 1
  if (schema.type === 'array') return []
  if (schema.format === 'date-time') return '2030-01-01T00:00:00Z'
  return name
}

/** The JSON body an operation takes: its required fields (the first branch of a union). */
function bodyOf(operation: Json): Record<string, unknown> | undefined {
  const content = (operation.requestBody as Json | undefined)?.content as Record<string, Json> | undefined
  const json = content?.['application/json']?.schema as JsonSchema | undefined
  if (!json) return undefined
  const object = (json.anyOf as JsonSchema[] | undefined)?.[0] ?? json
  const properties = (object.properties ?? {}) as Record<string, JsonSchema>
  const required = new Set((object.required ?? []) as string[])
  // Optional fields too when nothing is required (refresh and logout read `refresh` from the body).
  const names = Object.keys(properties).filter((n) => required.has(n) || required.size === 0 || n === 'email')
  return Object.fromEntries(names.map((n) => [n, exampleOf(n, properties[n])]))
}

/** The operation's Authorization header: the first scheme it lists that the environment can fill. */
function authOf(operation: Json, override: string | null | undefined): string | undefined {
  if (override === null) return undefined
  if (override !== undefined) return AUTH_HEADERS[override]
  const security = (operation.security ?? []) as Record<string, unknown>[]
  // An AllowAny view (`{}` listed) is called anonymously, as the tutorial calls register and login.
  if (security.some((s) => Object.keys(s).length === 0)) return undefined
  for (const requirement of security) {
    const header = AUTH_HEADERS[Object.keys(requirement)[0] ?? '']
    if (header) return header
  }
  return undefined
}

function urlOf(path: string, operation: Json): Json {
  const segments = path
    .split('/')
    .slice(1)
    .map((s) => s.replace(/^\{([a-z_]+)\}$/, ':$1'))
  const params = ((operation.parameters ?? []) as Json[]).filter((p) => p.in === 'path')
  return {
    raw: `{{base_url}}/${segments.join('/')}`,
    host: ['{{base_url}}'],
    path: segments,
    ...(params.length ? { variable: params.map((p) => ({ key: p.name, value: '1' })) } : {}),
  }
}

function script(listen: 'prerequest' | 'test', exec: string[]): Json {
  return { listen, script: { type: 'text/javascript', exec } }
}

function requestOf(ref: OperationRef, step: { body?: Record<string, string>; auth?: string | null }): Json {
  const { path, method, operation } = ref
  const generated = bodyOf(operation)
  const body = generated ? { ...generated, ...step.body } : undefined
  const auth = authOf(operation, step.auth)
  const header = [
    ...(body ? [{ key: 'Content-Type', value: 'application/json' }] : []),
    ...(auth ? [{ key: 'Authorization', value: auth }] : []),
  ]
  return {
    method,
    header,
    ...(body
      ? { body: { mode: 'raw', raw: JSON.stringify(body, null, 2), options: { raw: { language: 'json' } } } }
      : {}),
    url: urlOf(path, operation),
    description: operation.description ?? '',
  }
}

function stepItem(ops: Map<string, OperationRef>, step: Step): Json {
  const ref = ops.get(step.operationId)
  if (!ref) throw new TypeError(`postman: the OpenAPI document has no operation ${step.operationId}`)
  const tests = [
    `pm.test('status is ${step.status}', () => pm.response.to.have.status(${step.status}))`,
    `const body = pm.response.json()`,
    ...(step.tests ?? []),
  ]
  return {
    name: step.name,
    event: [...(step.before ? [script('prerequest', step.before)] : []), script('test', tests)],
    request: { ...requestOf(ref, step), description: step.description ?? (ref.operation.description as string) },
  }
}

/** Every operation, grouped by the URL's first segment after /api; each asserts a documented status. */
function referenceFolder(ops: Map<string, OperationRef>): Json {
  const groups = new Map<string, Json[]>()
  for (const ref of ops.values()) {
    const group = ref.path.split('/')[2] ?? 'api'
    const statuses = Object.keys(ref.operation.responses as Json).map(Number)
    const item = {
      name: `${ref.method} ${ref.path}`,
      event: [
        script('test', [
          `pm.test('the status is one the OpenAPI document lists', () => pm.expect(${JSON.stringify(statuses)}).to.include(pm.response.code))`,
        ]),
      ],
      request: requestOf(ref, {}),
    }
    groups.set(group, [...(groups.get(group) ?? []), item])
  }
  return {
    name: 'Reference',
    description: 'One request per operation of the OpenAPI document, with placeholder values to edit.',
    item: [...groups].map(([name, item]) => ({ name, item })),
  }
}

export interface PostmanFiles {
  collection: Json
  environment: Json
}

export interface PostmanOptions {
  /** The environment's `base_url`. */
  baseUrl: string
}

/** The collection and the environment, from the OpenAPI document (buildOpenApiDocument). */
export function buildPostman(doc: Json, opts: PostmanOptions): PostmanFiles {
  const ops = operations(doc)
  const info = doc.info as { title: string; version: string }
  const collection = {
    info: {
      name: info.title,
      description: `Generated from the OpenAPI document of Gatehouse ${info.version} (\`pnpm gatehouse postman\`). Run "Tutorial flow" and "Token auth flow" in order; they keep the tokens in the environment.`,
      schema: SCHEMA_URL,
    },
    item: [
      {
        name: 'Tutorial flow',
        description: 'register → login → protected → admin-only content → refresh → logout, with simplejwt (Bearer).',
        item: TUTORIAL_FLOW.map((s) => stepItem(ops, s)),
      },
      {
        name: 'Token auth flow',
        description: "register → login → protected with DRF's TokenAuthentication (`Authorization: Token`).",
        item: TOKEN_FLOW.map((s) => stepItem(ops, s)),
      },
      referenceFolder(ops),
    ],
    variable: [
      { key: 'username', value: 'tutorial_user' },
      { key: 'token_username', value: 'token_user' },
      { key: 'password', value: PASSWORD },
    ],
  }
  const environment = {
    name: 'Gatehouse',
    values: ENVIRONMENT_VARIABLES.map((key) => ({
      key,
      value: key === 'base_url' ? opts.baseUrl : '',
      type: key === 'base_url' ? 'default' : 'secret',
      enabled: true,
    })),
    _postman_variable_scope: 'environment',
  }
  return { collection, environment }
}

/** Writes both files into `dir` (created if missing) and returns their paths. */
export async function writePostman(dir: string, files: PostmanFiles): Promise<string[]> {
  await mkdir(dir, { recursive: true })
  const paths = [join(dir, COLLECTION_FILE), join(dir, ENVIRONMENT_FILE)]
  await writeFile(paths[0] ?? '', `${JSON.stringify(files.collection, null, 2)}\n`)
  await writeFile(paths[1] ?? '', `${JSON.stringify(files.environment, null, 2)}\n`)
  return paths
}
