/** The OAuth server's configuration: defaults, and one line naming each bad variable. */
import { describe, expect, it } from 'vitest'

import { loadConfig } from '../src/config.js'
import { resolveOAuthSettings } from '../src/oauth-core/settings.js'
import { configErrorLines } from './helpers/config.js'

describe('OAuth configuration', () => {
  it('defaults: the bound URL + /oauth as issuer, urn:gatehouse:api, 1h / 14d / 60s, every grant', () => {
    const settings = resolveOAuthSettings(loadConfig({}), 'http://127.0.0.1:4000')
    expect(settings).toEqual({
      issuer: 'http://127.0.0.1:4000/oauth',
      resource: 'urn:gatehouse:api',
      accessTokenTtlSeconds: 3600,
      refreshTokenTtlSeconds: 14 * 86_400,
      authorizationCodeTtlSeconds: 60,
      idTokenTtlSeconds: 3600,
      grants: ['authorization_code', 'client_credentials', 'refresh_token'],
      scopes: ['openid', 'profile', 'email', 'offline_access', 'read', 'write'],
      algorithm: 'EdDSA',
    })
  })

  it('takes the issuer, resource, lifetimes and grants from the environment', () => {
    const config = loadConfig({
      OAUTH_ISSUER: 'https://auth.example.com/oauth/',
      OAUTH_RESOURCE: 'https://api.example.com',
      OAUTH_ACCESS_TOKEN_LIFETIME: '10m',
      OAUTH_REFRESH_TOKEN_LIFETIME: '30d',
      OAUTH_AUTHORIZATION_CODE_LIFETIME: '30s',
      OAUTH_GRANTS: 'client_credentials, client_credentials',
      JWT_ALGORITHM: 'HS256',
      JWT_SECRET: 'x'.repeat(32),
    })
    expect(resolveOAuthSettings(config, 'http://127.0.0.1:4000')).toMatchObject({
      issuer: 'https://auth.example.com/oauth',
      resource: 'https://api.example.com',
      accessTokenTtlSeconds: 600,
      refreshTokenTtlSeconds: 30 * 86_400,
      authorizationCodeTtlSeconds: 30,
      grants: ['client_credentials'],
      // HS256's shared secret cannot sign tokens other parties verify.
      algorithm: 'EdDSA',
    })
  })

  it('refuses bad values with one line naming each variable', () => {
    expect(
      configErrorLines({
        OAUTH_ISSUER: 'auth.example.com',
        OAUTH_ACCESS_TOKEN_LIFETIME: 'forever',
        OAUTH_GRANTS: 'password,client_credentials',
      }),
    ).toEqual([
      'OAUTH_ISSUER: expected an http(s) URL without query or fragment, got "auth.example.com"',
      'OAUTH_ACCESS_TOKEN_LIFETIME: expected a duration such as 30s, 5m, 12h or 7d, got "forever"',
      'OAUTH_GRANTS: expected comma-separated grants from authorization_code, client_credentials, refresh_token; "password" is not one of them',
    ])
    expect(configErrorLines({ OAUTH_ISSUER: 'https://a.example/oauth?x=1' })).toEqual([
      'OAUTH_ISSUER: expected an http(s) URL without query or fragment, got "https://a.example/oauth?x=1"',
    ])
    expect(configErrorLines({ OAUTH_GRANTS: ' , ' })).toEqual([
      'OAUTH_GRANTS: expected comma-separated grants from authorization_code, client_credentials, refresh_token; none given',
    ])
  })
})
