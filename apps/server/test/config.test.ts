import { describe, expect, it } from 'vitest'

import { loadConfig } from '../src/config.js'
import { configErrorLines } from './helpers/config.js'

describe('configuration', () => {
  it('has the defaults of DESIGN.md', () => {
    expect(loadConfig({})).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      dataDir: './.data',
      accessTokenLifetimeSeconds: 300,
      refreshTokenLifetimeSeconds: 7 * 86_400,
      slidingTokenLifetimeSeconds: 300,
      slidingTokenRefreshLifetimeSeconds: 7 * 86_400,
      rotateRefreshTokens: true,
      blacklistAfterRotation: true,
      jwtAlgorithm: 'EdDSA',
      passwordHashCost: 12,
      defaultPermission: 'IsAuthenticated',
      maxBodyBytes: 1024 * 1024,
    })
  })

  it('parses durations and booleans', () => {
    const c = loadConfig({ ACCESS_TOKEN_LIFETIME: '30s', REFRESH_TOKEN_LIFETIME: '12h', ROTATE_REFRESH_TOKENS: 'false' })
    expect(c).toMatchObject({ accessTokenLifetimeSeconds: 30, refreshTokenLifetimeSeconds: 43_200, rotateRefreshTokens: false })
  })

  it('gives one line per bad variable, each naming it', () => {
    const lines = configErrorLines({
      PORT: 'eighty',
      ACCESS_TOKEN_LIFETIME: '5 minutes',
      JWT_ALGORITHM: 'none',
      PASSWORD_HASH_COST: '3',
      DATABASE_URL: 'mysql://x',
      DEFAULT_PERMISSION: 'Everyone',
      ROTATE_REFRESH_TOKENS: 'maybe',
    })
    expect(lines).toHaveLength(7)
    for (const name of ['PORT', 'ACCESS_TOKEN_LIFETIME', 'JWT_ALGORITHM', 'PASSWORD_HASH_COST', 'DATABASE_URL', 'DEFAULT_PERMISSION', 'ROTATE_REFRESH_TOKENS']) {
      expect(lines.some((l) => l.startsWith(`${name}: `)), name).toBe(true)
    }
    for (const line of lines) expect(line).not.toContain('\n')
  })

  it('grants a rotated refresh token 10 s of reuse unless REFRESH_REUSE_INTERVAL says otherwise; 0 or off turns it off', () => {
    expect(loadConfig({}).refreshReuseIntervalSeconds).toBe(10)
    expect(loadConfig({ REFRESH_REUSE_INTERVAL: '30s' }).refreshReuseIntervalSeconds).toBe(30)
    expect(loadConfig({ REFRESH_REUSE_INTERVAL: '5m' }).refreshReuseIntervalSeconds).toBe(300)
    for (const off of ['0', '0s', 'off']) expect(loadConfig({ REFRESH_REUSE_INTERVAL: off }).refreshReuseIntervalSeconds).toBe(0)
    for (const bad of ['6m', '1h', 'never', '-1s', '10 seconds']) {
      expect(configErrorLines({ REFRESH_REUSE_INTERVAL: bad })).toEqual([
        `REFRESH_REUSE_INTERVAL: expected 0 or off (no grace), or a duration up to 5m such as 10s, got "${bad}"`,
      ])
    }
  })

  it('requires a long JWT_SECRET with HS256', () => {
    expect(configErrorLines({ JWT_ALGORITHM: 'HS256' })).toEqual(['JWT_SECRET: required with JWT_ALGORITHM=HS256, at least 32 characters'])
    expect(loadConfig({ JWT_ALGORITHM: 'HS256', JWT_SECRET: 'k'.repeat(32) }).jwtAlgorithm).toBe('HS256')
  })

  it('SECRET_KEY: at least 32 varied characters, never echoed; required with Postgres in production', () => {
    const help =
      'at least 32 characters, 10 of them different (make one with: openssl rand -base64 32)'
    const short = 'short-but-secret-value'
    const lines = configErrorLines({ SECRET_KEY: short })
    expect(lines).toEqual([`SECRET_KEY: expected ${help}`])
    expect(configErrorLines({ SECRET_KEY: 'ab'.repeat(20) })).toEqual([`SECRET_KEY: expected ${help}`])
    expect(lines.join('')).not.toContain(short)
    const good = 'a-long-and-varied-secret-key-0123456789'
    expect(loadConfig({ SECRET_KEY: good })).toMatchObject({ secretKey: good, secretKeyFallbacks: [] })
    expect(loadConfig({})).toMatchObject({ secretKey: undefined })

    const fallbacks = loadConfig({ SECRET_KEY: good, SECRET_KEY_FALLBACKS: ` ${good}x , ${good}y ` })
    expect(fallbacks.secretKeyFallbacks).toEqual([`${good}x`, `${good}y`])
    expect(configErrorLines({ SECRET_KEY_FALLBACKS: `${good},${short}` })).toEqual([
      `SECRET_KEY_FALLBACKS: expected comma-separated keys, each ${help}; key 2 is not`,
    ])

    const postgres = { DATABASE_URL: 'postgres://db.example.com/gatehouse' }
    expect(configErrorLines({ ...postgres, NODE_ENV: 'production' })).toEqual([
      `SECRET_KEY: required with DATABASE_URL when NODE_ENV=production: ${help}`,
    ])
    // Elsewhere the key comes from DATA_DIR/secret_key (secret-key.ts).
    expect(loadConfig(postgres).secretKey).toBeUndefined()
    expect(loadConfig({ NODE_ENV: 'production' }).secretKey).toBeUndefined()
    expect(loadConfig({ ...postgres, NODE_ENV: 'production', SECRET_KEY: good }).secretKey).toBe(good)
  })

  it('treats empty values as unset', () => {
    expect(loadConfig({ PORT: '', DATABASE_URL: '' })).toMatchObject({ port: 3000, databaseUrl: undefined })
  })

  it('delays a rotated key 5 minutes by default; 0 signs at once; a bad value names the variable', () => {
    expect(loadConfig({}).keyActivationDelaySeconds).toBe(300)
    expect(loadConfig({ KEY_ACTIVATION_DELAY: '0' }).keyActivationDelaySeconds).toBe(0)
    expect(loadConfig({ KEY_ACTIVATION_DELAY: '10m' }).keyActivationDelaySeconds).toBe(600)
    expect(configErrorLines({ KEY_ACTIVATION_DELAY: 'later' })).toEqual([
      'KEY_ACTIVATION_DELAY: expected a duration such as 30s, 5m or 1h, or 0, got "later"',
    ])
  })

  it('has generous throttle defaults, and registration limited per address by default', () => {
    expect(loadConfig({})).toMatchObject({
      throttleAnon: { limit: 1000, windowSeconds: 60 },
      throttleUser: { limit: 10_000, windowSeconds: 60 },
      throttleLoginFailures: { limit: 10, windowSeconds: 900 },
      passwordHashMaxWaitSeconds: 5,
    })
    expect(loadConfig({}).throttleRates).toEqual(new Map([['register', { limit: 20, windowSeconds: 3600 }]]))
    // other scopes leave the default in place; `register=off` drops it
    expect(loadConfig({ THROTTLE_RATES: 'refresh=600/min' }).throttleRates.get('register')).toEqual({
      limit: 20,
      windowSeconds: 3600,
    })
    expect(loadConfig({ THROTTLE_RATES: 'register=off' }).throttleRates).toEqual(new Map())
    expect(loadConfig({ PASSWORD_HASH_MAX_WAIT: '2s' }).passwordHashMaxWaitSeconds).toBe(2)
    expect(configErrorLines({ PASSWORD_HASH_MAX_WAIT: 'soon' })).toEqual([
      'PASSWORD_HASH_MAX_WAIT: expected a duration such as 30s, 5m, 12h or 7d, got "soon"',
    ])
  })

  it('parses throttle rates, scoped rates and off', () => {
    const c = loadConfig({
      THROTTLE_ANON: '100/min',
      THROTTLE_USER: 'off',
      THROTTLE_RATES: 'register=20/h, refresh = 600/minute,burst=3/2s,quiet=off',
      THROTTLE_LOGIN_FAILURES: '5/15m',
    })
    expect(c).toMatchObject({
      throttleAnon: { limit: 100, windowSeconds: 60 },
      throttleUser: null,
      throttleLoginFailures: { limit: 5, windowSeconds: 900 },
    })
    expect(c.throttleRates).toEqual(
      new Map([
        ['register', { limit: 20, windowSeconds: 3600 }],
        ['refresh', { limit: 600, windowSeconds: 60 }],
        ['burst', { limit: 3, windowSeconds: 2 }],
      ]),
    )
  })

  it('names each bad throttle variable on one line', () => {
    const lines = configErrorLines({
      THROTTLE_ANON: '100 per minute',
      THROTTLE_USER: '0/min',
      THROTTLE_RATES: 'register=20/h,refresh',
      THROTTLE_LOGIN_FAILURES: '10/fortnight',
    })
    expect(lines).toEqual([
      'THROTTLE_ANON: expected a rate such as 100/min, 1000/hour or 10/15m, or off, got "100 per minute"',
      'THROTTLE_USER: expected a rate such as 100/min, 1000/hour or 10/15m, or off, got "0/min"',
      'THROTTLE_RATES: expected comma-separated scope=rate pairs such as register=20/h,refresh=off; got "refresh"',
      'THROTTLE_LOGIN_FAILURES: expected a rate such as 100/min, 1000/hour or 10/15m, or off, got "10/fortnight"',
    ])
  })

  it('trusts no proxy unless NUM_PROXIES says how many append to X-Forwarded-For', () => {
    expect(loadConfig({}).numProxies).toBe(0)
    expect(loadConfig({ NUM_PROXIES: '2' }).numProxies).toBe(2)
    expect(configErrorLines({ NUM_PROXIES: '-1' })).toEqual(['NUM_PROXIES: expected a whole number from 0 to 32'])
    expect(configErrorLines({ NUM_PROXIES: 'yes' })).toEqual(['NUM_PROXIES: expected a whole number from 0 to 32'])
    expect(configErrorLines({ NUM_PROXIES: '33' })).toEqual(['NUM_PROXIES: expected at most 32'])
  })

  it('keeps audit events 90 days unless AUDIT_RETENTION says otherwise; off keeps them forever', () => {
    expect(loadConfig({}).auditRetentionSeconds).toBe(90 * 86_400)
    expect(loadConfig({ AUDIT_RETENTION: '30d' }).auditRetentionSeconds).toBe(30 * 86_400)
    expect(loadConfig({ AUDIT_RETENTION: 'OFF' }).auditRetentionSeconds).toBeNull()
    expect(configErrorLines({ AUDIT_RETENTION: '3 months' })).toEqual([
      'AUDIT_RETENTION: expected a duration such as 30d or 12h, or off, got "3 months"',
    ])
  })

  it('has Django’s session and cookie defaults', () => {
    expect(loadConfig({})).toMatchObject({
      sessionCookieAgeSeconds: 1_209_600,
      csrfTrustedOrigins: [],
      cookieSecure: 'auto',
    })
  })

  it('parses SESSION_COOKIE_AGE, CSRF_TRUSTED_ORIGINS and COOKIE_SECURE', () => {
    const c = loadConfig({
      SESSION_COOKIE_AGE: '8h',
      CSRF_TRUSTED_ORIGINS: ' https://App.Example.com , http://localhost:5173,,https://*.example.org/ ',
      COOKIE_SECURE: 'TRUE',
    })
    expect(c).toMatchObject({
      sessionCookieAgeSeconds: 28_800,
      csrfTrustedOrigins: ['https://app.example.com', 'http://localhost:5173', 'https://*.example.org'],
      cookieSecure: true,
    })
    expect(loadConfig({ COOKIE_SECURE: 'false' }).cookieSecure).toBe(false)
    expect(loadConfig({ COOKIE_SECURE: 'Auto' }).cookieSecure).toBe('auto')
  })

  it('serves /trpc with the lean layer unless HTTP_ADAPTER=stock', () => {
    expect(loadConfig({}).httpAdapter).toBe('lean')
    expect(loadConfig({ HTTP_ADAPTER: 'stock' }).httpAdapter).toBe('stock')
    expect(configErrorLines({ HTTP_ADAPTER: 'fetch' })).toEqual(['HTTP_ADAPTER: expected lean or stock, got "fetch"'])
  })

  it('names each bad session or cookie variable on one line', () => {
    expect(
      configErrorLines({ SESSION_COOKIE_AGE: '2 weeks', CSRF_TRUSTED_ORIGINS: 'https://ok.example,app.example.com', COOKIE_SECURE: 'always' }),
    ).toEqual([
      'SESSION_COOKIE_AGE: expected a duration such as 30s, 5m, 12h or 7d, got "2 weeks"',
      'CSRF_TRUSTED_ORIGINS: expected comma-separated origins such as https://app.example.com or https://*.example.com; got "app.example.com"',
      'COOKIE_SECURE: expected auto, true or false, got "always"',
    ])
  })
})
