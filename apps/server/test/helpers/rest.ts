/**
 * The REST facade (/api/…) over raw HTTP, as DRF's clients see it: each answer's status, headers,
 * exact text and parsed JSON, and the three ways of signing in that the REST tests start from.
 */
import { expect } from 'vitest'

export interface Answer {
  status: number
  headers: Headers
  text: string
  /** The parsed body, or undefined where it is not JSON. */
  json: any
}

export interface RestOptions {
  /** Sent as application/json; `body` is sent as it is. */
  json?: unknown
  body?: string | FormData
  headers?: Record<string, string>
  /** @default 'manual': a test sees the redirect itself */
  redirect?: RequestRedirect
}

export type RestCall = (method: string, path: string, opts?: RestOptions) => Promise<Answer>

/** The seed's answers, byte for byte (../shared/reference/drf-wire.md). */
export const NOT_PROVIDED = '{"detail":"Authentication credentials were not provided."}'
export const FORBIDDEN = '{"detail":"You do not have permission to perform this action."}'
export const REQUIRED_BOTH = '{"username":["This field is required."],"password":["This field is required."]}'
export const tokenNotValid = (message: string) =>
  `{"detail":"Given token not valid for any token type","code":"token_not_valid","messages":[{"token_class":"AccessToken","token_type":"access","message":"${message}"}]}`
/** code-2's challenge; code-1's is `Token`. */
export const BEARER = 'Bearer realm="api"'
/** A DRF authtoken key, as code-1 and obtain_auth_token answer it. */
export const DRF_KEY = /^[0-9a-f]{40}$/
export const JWT = /^[\w-]+\.[\w-]+\.[\w-]+$/
export const PASSWORD = 'Tr1cky-passphrase'

/** The headers every DRF view answer carries (section 1). */
export function expectDrfHeaders(res: Answer, allow: string, vary = 'Accept') {
  expect(res.headers.get('content-type')).toBe('application/json')
  expect(res.headers.get('allow')).toBe(allow)
  expect(res.headers.get('vary')).toBe(vary)
  expect(res.headers.get('x-frame-options')).toBe('DENY')
  expect(res.headers.get('x-content-type-options')).toBe('nosniff')
  expect(res.headers.get('referrer-policy')).toBe('same-origin')
  expect(res.headers.get('content-length')).toBe(String(Buffer.byteLength(res.text)))
}

export const bearer = (jwt: string) => ({ authorization: `Bearer ${jwt}` })
/** DRF's TokenAuthentication header. */
export const token = (key: string) => ({ authorization: `Token ${key}` })

interface Credentials {
  username: string
  password: string
}

/**
 * A client of the REST facade at `base()`, read at every call: the server a file shares is not up
 * yet when the client is made, and some tests point it at a server of their own.
 * @example
 * const { api, pairOf } = restClient(() => server.url)
 * const res = await api('GET', '/api/protected/', { headers: bearer((await pairOf(user)).access) })
 */
export function restClient(base: () => string) {
  const api: RestCall = async (method, path, opts = {}) => {
    const jsonHeaders: Record<string, string> = opts.json === undefined ? {} : { 'content-type': 'application/json' }
    const res = await fetch(`${base()}${path}`, {
      method,
      body: opts.json === undefined ? opts.body : JSON.stringify(opts.json),
      headers: { ...jsonHeaders, ...opts.headers },
      redirect: opts.redirect ?? 'manual',
    })
    const text = await res.text()
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      json = undefined
    }
    return { status: res.status, headers: res.headers, text, json }
  }

  async function signIn(path: string, user: Credentials) {
    const res = await api('POST', path, { json: { username: user.username, password: user.password } })
    expect(res.status).toBe(200)
    return res.json
  }

  return {
    api,
    /** The seed's code-1 login (/api/token-auth/login/): the user's DRF key. */
    keyOf: async (user: Credentials): Promise<string> => (await signIn('/api/token-auth/login/', user)).token,
    /** The seed's code-2 login (/api/login/): {access, refresh}. */
    pairOf: (user: Credentials): Promise<{ access: string; refresh: string }> => signIn('/api/login/', user),
    /** simplejwt's stock TokenObtainPairView (/api/token/): the access token. */
    accessOf: async (user: Credentials): Promise<string> => (await signIn('/api/token/', user)).access,
  }
}
