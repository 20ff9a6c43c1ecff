/**
 * The pages of the authorization code flow, at /oauth/interaction/:uid: sign in with a Gatehouse
 * account, then allow or deny what the client asks for. Server-rendered HTML with no script at
 * all, under a strict CSP. The password goes through the auth service's `checkLogin`, so login
 * throttling and the audit log apply as to every other login. Each form carries a CSRF token bound
 * to its interaction (an HMAC of the uid under a persisted key), compared in constant time; the
 * interaction itself is bound to the browser by the provider's signed, SameSite cookie.
 */
import { createHash } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'

import type { AuthService } from '@gatehouse/auth'
import { isAuthError } from '@gatehouse/auth'
import type Provider from 'oidc-provider'

import { HttpError, readBody } from '../kit/body.js'
import { clientAddress } from '../kit/client-address.js'
import { NULL_CHARACTERS } from '../kit/fields.js'
import { AUTH_ERRORS } from '../kit/wire-errors.js'
import { OAUTH_PATH, OAUTH_SCOPES } from '../oauth-core/settings.js'

const FORM_LIMIT = 16 * 1024

const STYLE =
  'body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#222}' +
  'label{display:block;margin:.75rem 0 .25rem}input[type=text],input[type=password]{width:100%;padding:.4rem;box-sizing:border-box}' +
  'button{margin:1rem .5rem 0 0;padding:.4rem 1rem}.error{color:#b00020}li{margin:.25rem 0}'
const STYLE_HASH = createHash('sha256').update(STYLE).digest('base64')
const CSP = `default-src 'none'; style-src 'sha256-${STYLE_HASH}'; frame-ancestors 'none'; base-uri 'none'`

/** What each scope lets the client do, as the consent page says it. */
const SCOPE_DESCRIPTIONS: Record<string, string> = {
  openid: 'Know who you are (your user id)',
  profile: 'See your username',
  email: 'See your email address',
  offline_access: 'Stay connected when you are not using it',
  read: 'Read your data',
  write: 'Change your data',
}

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Gatehouse</title><style>${STYLE}</style></head>
<body><h1>${escapeHtml(title)}</h1>
${body}
</body></html>`
}

export function renderErrorPage(error: string, description: string): string {
  return page('Sign-in error', `<p class="error" id="error">${escapeHtml(error)}</p><p>${escapeHtml(description)}</p>`)
}

function sendHtml(
  res: ServerResponse,
  status: number,
  page: string | { html: string; headers: Record<string, string> },
) {
  const { html, headers } = typeof page === 'string' ? { html: page, headers: {} } : page
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(html),
    'cache-control': 'no-store',
    'content-security-policy': CSP,
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    ...headers,
  })
  res.end(html)
}

export interface InteractionOptions {
  auth: AuthService
  /** NUM_PROXIES: who the client is behind trusted proxies (kit/client-address.ts). */
  numProxies: number
  csrfToken(uid: string): string
  csrfMatches(uid: string, presented: string): boolean
}

interface Details {
  uid: string
  prompt: { name: string; details: Record<string, unknown> }
  params: Record<string, unknown>
  session?: { accountId?: string } | undefined
  grantId?: string | undefined
}

function loginPage(o: { uid: string; csrf: string; clientName: string; username?: string; error?: string }) {
  const action = `${OAUTH_PATH}/interaction/${encodeURIComponent(o.uid)}`
  const error = o.error ? `<p class="error" id="error">${escapeHtml(o.error)}</p>` : ''
  return page(
    'Sign in',
    `<p>Sign in with your Gatehouse account to continue to <strong id="client">${escapeHtml(o.clientName)}</strong>.</p>
${error}<form method="post" action="${action}/login">
<input type="hidden" name="csrf" value="${escapeHtml(o.csrf)}">
<label for="username">Username</label><input type="text" id="username" name="username" autocomplete="username" required value="${escapeHtml(o.username ?? '')}">
<label for="password">Password</label><input type="password" id="password" name="password" autocomplete="current-password" required>
<button type="submit" id="login">Sign in</button>
</form>
<form method="post" action="${action}/abort"><input type="hidden" name="csrf" value="${escapeHtml(o.csrf)}"><button type="submit" id="cancel">Cancel</button></form>`,
  )
}

function consentPage(o: { uid: string; csrf: string; clientName: string; scopes: string[] }) {
  const action = `${OAUTH_PATH}/interaction/${encodeURIComponent(o.uid)}`
  const items = o.scopes
    .map(
      (s) =>
        `<li data-scope="${escapeHtml(s)}"><code>${escapeHtml(s)}</code>: ${escapeHtml(SCOPE_DESCRIPTIONS[s] ?? s)}</li>`,
    )
    .join('\n')
  return page(
    'Authorise access',
    `<p><strong id="client">${escapeHtml(o.clientName)}</strong> asks to:</p>
<ul id="scopes">
${items}
</ul>
<form method="post" action="${action}/confirm"><input type="hidden" name="csrf" value="${escapeHtml(o.csrf)}"><button type="submit" id="allow">Allow</button></form>
<form method="post" action="${action}/abort"><input type="hidden" name="csrf" value="${escapeHtml(o.csrf)}"><button type="submit" id="deny">Deny</button></form>`,
  )
}

export function createInteractionHandler(opts: InteractionOptions) {
  const { auth } = opts

  async function clientName(provider: Provider, clientId: unknown): Promise<string> {
    const client = typeof clientId === 'string' ? await provider.Client.find(clientId) : undefined
    return client?.clientName ?? (typeof clientId === 'string' ? clientId : 'an application')
  }

  async function readForm(req: IncomingMessage): Promise<URLSearchParams | null> {
    const type = (req.headers['content-type'] ?? '').split(';', 1)[0]?.trim().toLowerCase()
    if (type !== 'application/x-www-form-urlencoded') return null
    return new URLSearchParams((await readBody(req, FORM_LIMIT)).toString('utf8'))
  }

  async function show(req: IncomingMessage, res: ServerResponse, o: { provider: Provider; details: Details }) {
    const { provider, details } = o
    const csrf = opts.csrfToken(details.uid)
    const name = await clientName(provider, details.params.client_id)
    if (details.prompt.name === 'login') {
      return sendHtml(res, 200, loginPage({ uid: details.uid, csrf, clientName: name }))
    }
    if (details.prompt.name === 'consent') {
      const requested = typeof details.params.scope === 'string' ? details.params.scope.split(' ') : []
      // /oauth/auth refused any scope the client was not registered with (invalid_scope); showing only
      // the scopes this server knows is a second fence.
      const scopes = requested.filter((scope) => (OAUTH_SCOPES as readonly string[]).includes(scope))
      return sendHtml(res, 200, consentPage({ uid: details.uid, csrf, clientName: name, scopes }))
    }
    return sendHtml(res, 400, renderErrorPage('invalid_request', `Unsupported prompt "${details.prompt.name}".`))
  }

  async function login(
    req: IncomingMessage,
    res: ServerResponse,
    o: { provider: Provider; details: Details; form: URLSearchParams },
  ) {
    const { provider, details, form } = o
    const username = form.get('username') ?? ''
    const password = form.get('password') ?? ''
    // No user has a NUL in their name (Postgres could not even look one up): DRF's CharField message.
    const nul = username.includes('\0') || password.includes('\0')
    const name = await clientName(provider, details.params.client_id)
    const again = (status: number, error: string, headers: Record<string, string> = {}) =>
      sendHtml(res, status, {
        html: loginPage({
          uid: details.uid,
          csrf: opts.csrfToken(details.uid),
          clientName: name,
          username: nul ? '' : username,
          error,
        }),
        headers,
      })
    if (details.prompt.name !== 'login')
      return again(400, 'This sign-in step is already done; start again from the application.')
    if (!username || !password) return again(400, 'Enter your username and password.')
    if (nul) return again(400, NULL_CHARACTERS)
    let user
    try {
      const ua = req.headers['user-agent']
      user = await auth.core.checkLogin(
        { username, password },
        { address: clientAddress(req, opts.numProxies), userAgent: ua?.slice(0, 512), via: 'oauth' },
      )
    } catch (error) {
      if (!isAuthError(error)) throw error
      // The statuses /trpc and /api answer for the same refusal (kit/wire-errors.ts).
      const { status } = AUTH_ERRORS[error.code]
      if (error.code === 'THROTTLED') {
        return again(status, error.message, { 'retry-after': String(error.retryAfterSeconds ?? 1) })
      }
      if (error.code === 'INVALID_CREDENTIALS') return again(status, 'Invalid username or password.')
      throw error
    }
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: String(user.id) } },
      { mergeWithLastSubmission: false },
    )
  }

  async function confirm(req: IncomingMessage, res: ServerResponse, o: { provider: Provider; details: Details }) {
    const { provider, details } = o
    const accountId = details.session?.accountId
    if (details.prompt.name !== 'consent' || !accountId) {
      return sendHtml(
        res,
        400,
        renderErrorPage('invalid_request', 'There is nothing to consent to; start again from the application.'),
      )
    }
    const existing = details.grantId ? await provider.Grant.find(details.grantId) : undefined
    const grant = existing ?? new provider.Grant({ accountId, clientId: String(details.params.client_id) })
    const missing = details.prompt.details as {
      missingOIDCScope?: string[]
      missingOIDCClaims?: string[]
      missingResourceScopes?: Record<string, string[]>
    }
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '))
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims)
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scopes.join(' '))
    }
    const grantId = await grant.save()
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true })
  }

  return async function handleInteraction(
    req: IncomingMessage,
    res: ServerResponse,
    provider: Provider,
  ): Promise<void> {
    const pathname = (req.url ?? '/').split('?', 1)[0] ?? '/'
    const rest = pathname.slice(`${OAUTH_PATH}/interaction/`.length).split('/')
    const [rawUid, action, ...extra] = rest
    let uid = ''
    try {
      uid = rawUid ? decodeURIComponent(rawUid) : ''
    } catch {
      // a malformed escape (`%E0%A4%A`) names no interaction: 404 below, not a URIError's 500
    }
    const known = action === undefined ? req.method === 'GET' || req.method === 'HEAD' : req.method === 'POST'
    if (!uid || extra.length > 0 || (action !== undefined && !['login', 'confirm', 'abort'].includes(action))) {
      return sendHtml(res, 404, renderErrorPage('not_found', 'No such page.'))
    }
    if (!known)
      return sendHtml(res, 405, {
        html: renderErrorPage('method_not_allowed', 'Method not allowed.'),
        headers: { allow: action ? 'POST' : 'GET' },
      })

    let details: Details
    try {
      details = await provider.interactionDetails(req, res)
    } catch (error) {
      // A missing cookie or an interaction past its time; anything else (the database) is a real failure.
      if (!(error instanceof Error) || error.name !== 'SessionNotFound') throw error
      return sendHtml(
        res,
        400,
        renderErrorPage(
          'invalid_request',
          'This sign-in has expired or was started in another browser; start again from the application.',
        ),
      )
    }
    if (details.uid !== uid) {
      return sendHtml(
        res,
        400,
        renderErrorPage(
          'invalid_request',
          'This sign-in does not match your browser session; start again from the application.',
        ),
      )
    }
    if (action === undefined) return show(req, res, { provider, details })

    let form: URLSearchParams | null
    try {
      form = await readForm(req)
    } catch (error) {
      if (error instanceof HttpError)
        return sendHtml(res, error.status, renderErrorPage('invalid_request', 'The form is too large.'))
      throw error
    }
    if (!form) return sendHtml(res, 415, renderErrorPage('invalid_request', 'Expected a form submission.'))
    if (!opts.csrfMatches(uid, form.get('csrf') ?? '')) {
      return sendHtml(
        res,
        403,
        renderErrorPage('csrf_failed', 'The form is stale or did not come from this page; go back and try again.'),
      )
    }
    if (action === 'login') return login(req, res, { provider, details, form })
    if (action === 'confirm') return confirm(req, res, { provider, details })
    await provider.interactionFinished(
      req,
      res,
      { error: 'access_denied', error_description: 'End-User aborted interaction' },
      { mergeWithLastSubmission: false },
    )
  }
}
