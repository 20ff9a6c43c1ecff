/** OIDC userinfo at /oauth/me, and the claims about a user that it and ID tokens carry. */
import type { IncomingMessage, ServerResponse } from 'node:http'

import type { AuthService } from '@gatehouse/auth'
import type { default as Provider } from 'oidc-provider'

import type { AccessTokenKeys } from './access-tokens.js'
import { verifyAccessToken } from './access-tokens.js'
import { sendJson } from './responses.js'

export function claimsFor(user: {
  id: number
  username: string
  email: string
  firstName?: string
  lastName?: string
}) {
  return {
    sub: String(user.id),
    preferred_username: user.username,
    ...(user.email ? { email: user.email, email_verified: false } : {}),
  }
}

/** OIDC userinfo for our JWT access tokens (the provider's own endpoint refuses tokens with an audience). */
export function createUserinfoHandler(opts: AccessTokenKeys & { auth: AuthService }) {
  const { auth, settingsRef } = opts
  return async function userinfo(req: IncomingMessage, res: ServerResponse, provider: Provider) {
    // RFC 6750 §3: the error in the body and in the challenge.
    const refuse = (status: number, error: string, description: string) =>
      sendJson(res, {
        status,
        body: { error, error_description: description },
        headers: {
          'www-authenticate': `Bearer realm="${settingsRef.get().issuer}", error="${error}", error_description="${description}"`,
        },
      })
    const match = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')
    if (!match?.[1]) return refuse(401, 'invalid_token', 'no access token provided')
    const payload = await verifyAccessToken(match[1], opts)
    // A client-credentials token's `sub` is its client_id, not a user id: looked up, it would be a 500.
    const userId = typeof payload?.sub === 'string' && /^[1-9]\d{0,14}$/.test(payload.sub) ? Number(payload.sub) : 0
    const user = userId > 0 ? await auth.loadUser(userId) : undefined
    if (!payload || !user?.isActive || payload.sub !== String(user.id)) {
      return refuse(401, 'invalid_token', 'invalid token provided')
    }
    // An access token for our API carries the API scopes only; what the user shared about themselves
    // (openid, profile, email) is in the grant the token came from.
    const record = await provider.AccessToken.find(String(payload.jti))
    const grant = record?.grantId ? await provider.Grant.find(record.grantId) : undefined
    const scopes = new Set((grant?.getOIDCScope() ?? '').split(' '))
    if (!scopes.has('openid')) return refuse(403, 'insufficient_scope', 'openid scope required')
    const claims = claimsFor(user)
    sendJson(res, {
      status: 200,
      body: {
        sub: claims.sub,
        ...(scopes.has('profile') ? { preferred_username: claims.preferred_username } : {}),
        ...(scopes.has('email') && claims.email ? { email: claims.email, email_verified: false } : {}),
      },
    })
  }
}
