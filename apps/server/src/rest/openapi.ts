/**
 * The OpenAPI 3.1 document of the REST facade, generated from the route table (routes.ts) and the
 * procedures' zod input schemas: no path is written here by hand. Each input key goes where its
 * `Source` says (path, query or body) under the name the request uses (`is_staff`); `const`
 * sources are not the client's to send. Error answers are shared components, in DRF's shapes.
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'

import * as z from 'zod'

import type { AuthFamily, Method, Operation, RestView, Source } from './table.js'
import { appRouter } from '../routers/_app.js'
import { PARSED_MEDIA_TYPES } from './body.js'
import { readsBody } from './input.js'
import { REST_VIEWS } from './routes.js'
import { METHODS } from './table.js'

type JsonSchema = Record<string, unknown>

// Found by the package's own name, so the bundle in dist/ (scripts/build.mjs) reads the same file.
const VERSION = (
  JSON.parse(
    readFileSync(createRequire(import.meta.url).resolve('@gatehouse/server/package.json'), 'utf8'),
  ) as { version: string }
).version

/** Built-in AUTH_SCHEMES names → their security scheme; a custom scheme has no standard description. */
const SECURITY_SCHEMES: Readonly<Record<string, { name: string; scheme: JsonSchema }>> = {
  bearer: {
    name: 'jwtAuth',
    scheme: {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
      description: "simplejwt's JWTAuthentication: `Authorization: Bearer <access token>`.",
    },
  },
  token: {
    name: 'tokenAuth',
    scheme: {
      type: 'apiKey',
      in: 'header',
      name: 'Authorization',
      description: "DRF's TokenAuthentication: `Authorization: Token <key>`.",
    },
  },
  session: {
    name: 'sessionAuth',
    scheme: {
      type: 'apiKey',
      in: 'cookie',
      name: 'sessionid',
      description: 'A server-side session (SessionAuthentication); unsafe methods also need `X-CSRFToken`.',
    },
  },
  cookie: {
    name: 'jwtCookieAuth',
    scheme: {
      type: 'apiKey',
      in: 'cookie',
      name: 'access',
      description: 'The access JWT in the `access` cookie set by login; unsafe methods also need `X-CSRFToken`.',
    },
  },
  oauth: {
    name: 'oauthAuth',
    scheme: {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'at+jwt',
      description:
        "An access token of Gatehouse's OAuth server (/oauth, RFC 9068 `typ: at+jwt`): `Authorization: Bearer <token>`; its scopes narrow what it may do.",
    },
  },
}

const detail = { type: 'object', properties: { detail: { type: 'string' } }, required: ['detail'] }
const ref = (kind: 'schemas' | 'responses', name: string) => ({ $ref: `#/components/${kind}/${name}` })
const json = (schema: JsonSchema) => ({ 'application/json': { schema } })

const COMPONENT_SCHEMAS: Record<string, JsonSchema> = {
  Detail: detail,
  FieldErrors: {
    type: 'object',
    description: 'DRF field errors: each field the request named → its messages; `non_field_errors` for the whole.',
    additionalProperties: { type: 'array', items: { type: 'string' } },
  },
  TokenError: {
    type: 'object',
    description: "simplejwt's answer to a token it refuses.",
    properties: {
      detail: { type: 'string' },
      code: { type: 'string', examples: ['token_not_valid', 'user_not_found', 'bad_authorization_header'] },
      messages: {
        type: 'array',
        items: {
          type: 'object',
          properties: { token_class: { type: 'string' }, token_type: { type: 'string' }, message: { type: 'string' } },
        },
      },
    },
    required: ['detail', 'code'],
  },
}

/** Every error answer of the facade, by status, as reusable components. */
const ERRORS: Readonly<Record<string, { name: string; response: JsonSchema }>> = {
  400: {
    name: 'BadRequest',
    response: { description: 'The input is invalid: field errors.', content: json(ref('schemas', 'FieldErrors')) },
  },
  401: {
    name: 'Unauthorized',
    response: {
      description: 'No credentials, or credentials (or a token in the body) that were refused.',
      headers: {
        'WWW-Authenticate': {
          description: 'The scheme to use: `Token` or `Bearer realm="api"`.',
          schema: { type: 'string' },
        },
      },
      content: json({ anyOf: [ref('schemas', 'Detail'), ref('schemas', 'TokenError')] }),
    },
  },
  403: {
    name: 'Forbidden',
    response: { description: 'The caller may not do this.', content: json(ref('schemas', 'Detail')) },
  },
  404: {
    name: 'NotFound',
    response: { description: 'No such object (or URL).', content: json(ref('schemas', 'Detail')) },
  },
  405: {
    name: 'MethodNotAllowed',
    response: {
      description: 'The URL exists but not with this method.',
      headers: { Allow: { description: "The view's methods.", schema: { type: 'string' } } },
      content: json(ref('schemas', 'Detail')),
    },
  },
  413: {
    name: 'PayloadTooLarge',
    response: { description: 'The body is larger than MAX_BODY_BYTES.', content: json(ref('schemas', 'Detail')) },
  },
  415: {
    name: 'UnsupportedMediaType',
    response: {
      description: `The body is none of ${PARSED_MEDIA_TYPES.join(', ')}.`,
      content: json(ref('schemas', 'Detail')),
    },
  },
  429: {
    name: 'Throttled',
    response: {
      description: 'Too many requests.',
      headers: { 'Retry-After': { description: 'Seconds to wait.', schema: { type: 'integer' } } },
      content: json(ref('schemas', 'Detail')),
    },
  },
  503: {
    name: 'ServiceUnavailable',
    response: { description: 'The database is unreachable.', content: json(ref('schemas', 'Detail')) },
  },
}

function toJson(schema: z.ZodType): JsonSchema {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema
  return rest
}

/** The procedure's input schema as JSON Schema; undefined for a procedure without input. */
function inputSchemaOf(procedure: string): JsonSchema | undefined {
  // At run time the router keeps its procedures flat, by dotted path.
  const procedures = appRouter._def.procedures as unknown as Record<string, { _def: { inputs: unknown[] } } | undefined>
  const found = procedures[procedure]
  if (!found) throw new TypeError(`openapi: no procedure ${procedure}`)
  const parser = found._def.inputs[0]
  return parser instanceof z.ZodType ? toJson(parser) : undefined
}

interface ObjectSchema {
  properties: Record<string, JsonSchema>
  required: string[]
}

/** The object (or union of objects) an input schema describes, one entry per branch. */
function branchesOf(schema: JsonSchema | undefined): ObjectSchema[] {
  if (!schema) return []
  const union = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined
  const objects = union ?? [schema]
  return objects.map((o) => ({
    properties: (o.properties ?? {}) as Record<string, JsonSchema>,
    required: (o.required ?? []) as string[],
  }))
}

/** The input keys one part of the request carries, renamed as the request spells them. */
function bodyOf(operation: Operation, branches: readonly ObjectSchema[]): JsonSchema | undefined {
  const sources = Object.entries(operation.input ?? {}).filter(([, s]) => s.in === 'body') as [
    string,
    Source & { name: string },
  ][]
  if (sources.length === 0) return undefined
  // Unknown fields are ignored, as DRF ignores them: no additionalProperties: false.
  const objects = branches.map((branch) => {
    const properties: Record<string, JsonSchema> = {}
    for (const [key, source] of sources) if (branch.properties[key]) properties[source.name] = branch.properties[key]
    const required = sources.filter(([key]) => branch.required.includes(key)).map(([, s]) => s.name)
    return { type: 'object', properties, ...(required.length ? { required } : {}) }
  })
  return objects.length === 1 ? objects[0] : { anyOf: objects }
}

function parametersOf(operation: Operation, branches: readonly ObjectSchema[]): JsonSchema[] {
  const out: JsonSchema[] = []
  for (const [key, source] of Object.entries(operation.input ?? {})) {
    if (source.in !== 'path' && source.in !== 'query') continue
    const schema = branches.find((b) => b.properties[key])?.properties[key] ?? { type: 'string' }
    const required = source.in === 'path' || (branches.length > 0 && branches.every((b) => b.required.includes(key)))
    out.push({ name: source.name, in: source.in, required, schema })
  }
  return out
}

/** Whether the procedure lets OAuth access tokens in (it declares scopes: middleware/oauth.ts). */
function acceptsOAuth(procedure: string): boolean {
  const procedures = appRouter._def.procedures as unknown as Record<
    string,
    { _def: { meta?: { oauth?: boolean } } } | undefined
  >
  return procedures[procedure]?._def.meta?.oauth === true
}

function securityOf(family: AuthFamily, operation: Operation, schemes: readonly string[]): JsonSchema[] {
  const names: Record<AuthFamily, readonly string[]> = {
    token: ['token'],
    bearer: ['bearer'],
    none: [],
    default: acceptsOAuth(operation.procedure) ? schemes : schemes.filter((s) => s !== 'oauth'),
  }
  if (family === 'none') return []
  const requirements = names[family].flatMap((s) => {
    const known = SECURITY_SCHEMES[s]
    return known ? [{ [known.name]: [] }] : []
  })
  // AllowAny: credentials are optional (a bad one is still refused).
  return operation.public ? [{}, ...requirements] : requirements
}

function responsesOf(v: RestView, operation: Operation): Record<string, JsonSchema> {
  const responses: Record<string, JsonSchema> = {}
  const success =
    operation.status === 204
      ? { description: 'Done; no body.' }
      : {
          description: operation.summary || 'OK',
          content: json(operation.response ? toJson(operation.response) : { type: 'object' }),
        }
  responses[String(operation.status)] = v.cookies
    ? {
        ...success,
        headers: { 'Set-Cookie': { description: 'The cookies this view sets or clears.', schema: { type: 'string' } } },
      }
    : success
  const statuses = new Set<number>([401, 429, 503])
  const inputs = Object.values(operation.input ?? {}).filter((s) => s.in !== 'const')
  const fixedInvalid = operation.errors.INVALID_INPUT
  if (inputs.length > 0 && (!fixedInvalid || fixedInvalid.status === 400)) statuses.add(400)
  if (v.auth !== 'none') statuses.add(403)
  if (Object.keys(v.params).length > 0) statuses.add(404)
  if (readsBody(operation)) {
    statuses.add(413)
    statuses.add(415)
  }
  const fixed = Object.entries(operation.errors)
  for (const [, reply] of fixed) statuses.add(reply.status)
  for (const status of [...statuses].sort((a, b) => a - b)) {
    const shared = ERRORS[status]
    const own = fixed.filter(([, reply]) => reply.status === status)
    if (own.length === 0 && shared) {
      responses[String(status)] = ref('responses', shared.name)
      continue
    }
    // The route's own words for some errors, beside the usual ones.
    const base = shared?.response ?? { description: 'Error' }
    const usual = shared ? [schemaOf(shared.response)] : []
    const examples = Object.fromEntries(own.map(([code, reply]) => [code, { value: reply.body }]))
    const schema = { anyOf: [...usual, ...own.map(([, reply]) => ({ const: reply.body }))] }
    responses[String(status)] = { ...base, content: { 'application/json': { schema, examples } } }
  }
  return responses
}

function schemaOf(response: JsonSchema): JsonSchema {
  const content = response.content as Record<string, { schema: JsonSchema } | undefined> | undefined
  return content?.['application/json']?.schema ?? {}
}

function operationOf(v: RestView, [method, operation]: [Method, Operation], schemes: readonly string[]): JsonSchema {
  const branches = branchesOf(operation.input ? inputSchemaOf(operation.procedure) : undefined)
  const parameters = parametersOf(operation, branches)
  const body = bodyOf(operation, branches)
  const slug = v.path
    .replace(/[{}]/g, '')
    .split(/[^a-z0-9]+/)
    .filter(Boolean)
    .join('_')
  return {
    operationId: `${method.toLowerCase()}_${slug}`,
    summary: operation.summary || v.name,
    description: `${v.name}: calls the procedure \`${operation.procedure}\`.`,
    'x-procedure': operation.procedure,
    ...(parameters.length ? { parameters } : {}),
    ...(body
      ? {
          requestBody: {
            required: Array.isArray(body.required) || Array.isArray(body.anyOf),
            content: Object.fromEntries(PARSED_MEDIA_TYPES.map((type) => [type, { schema: body }])),
          },
        }
      : {}),
    security: securityOf(v.auth, operation, schemes),
    responses: responsesOf(v, operation),
  }
}

export interface OpenApiOptions {
  /** The server's AUTH_SCHEMES, in order: what the `default` views accept. */
  authSchemes: readonly string[]
}

/** The document, built from the route table; `openApiDocument` caches it. */
export function buildOpenApiDocument(opts: OpenApiOptions, views: readonly RestView[] = REST_VIEWS): JsonSchema {
  const paths: Record<string, JsonSchema> = {}
  for (const v of views) {
    const item: JsonSchema = {}
    for (const method of METHODS) {
      const operation = v.operations[method]
      if (operation) item[method.toLowerCase()] = operationOf(v, [method, operation], opts.authSchemes)
    }
    paths[v.path] = item
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Gatehouse REST API',
      version: VERSION,
      description:
        "Django REST framework's and simplejwt's wire format over Gatehouse's procedures. Generated from the route table.",
    },
    servers: [{ url: '/' }],
    paths,
    components: {
      schemas: COMPONENT_SCHEMAS,
      responses: Object.fromEntries(Object.values(ERRORS).map(({ name, response }) => [name, response])),
      securitySchemes: Object.fromEntries(Object.values(SECURITY_SCHEMES).map(({ name, scheme }) => [name, scheme])),
    },
  }
}

/** The document's JSON text, built on first use and kept. */
export function openApiDocument(opts: OpenApiOptions): () => string {
  let text: string | undefined
  return () => (text ??= JSON.stringify(buildOpenApiDocument(opts)))
}
