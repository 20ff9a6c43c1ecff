/**
 * Assembles a running Gatehouse: database, migrations, auth service, HTTP server. main.ts calls
 * it with the environment's config; tests call it with their own.
 */
import type { AddressInfo } from 'node:net'

import type { AuthService, Clock } from '@gatehouse/auth'
import { createAuthService, setPasswordHashConcurrency, setPasswordHashMaxWait } from '@gatehouse/auth'
import type { Db } from '@gatehouse/db'
import { createDb, migrate } from '@gatehouse/db'

import type { AuthenticatorFactory } from './authenticators.js'
import type { Config } from './config.js'
import { resolveAuthenticators } from './authenticators.js'
import { createHttpServer } from './http/server.js'
import type { OAuthSettingsRef } from './oauth-core/settings.js'
import { createOAuthServer } from './oauth/provider.js'
import type { ConfigWithSecretKey } from './secret-key.js'
import { resolveSecretKey } from './secret-key.js'

export function authOptions(config: ConfigWithSecretKey) {
  return {
    secretKey: config.secretKey,
    secretKeyFallbacks: config.secretKeyFallbacks,
    passwordHashCost: config.passwordHashCost,
    loginFailureRate: config.throttleLoginFailures,
    auditRetentionSeconds: config.auditRetentionSeconds,
    sessions: { ageSeconds: config.sessionCookieAgeSeconds },
    jwt: {
      algorithm: config.jwtAlgorithm,
      secret: config.jwtSecret,
      issuer: config.jwtIssuer,
      audience: config.jwtAudience,
      accessTokenLifetimeSeconds: config.accessTokenLifetimeSeconds,
      refreshTokenLifetimeSeconds: config.refreshTokenLifetimeSeconds,
      slidingTokenLifetimeSeconds: config.slidingTokenLifetimeSeconds,
      slidingTokenRefreshLifetimeSeconds: config.slidingTokenRefreshLifetimeSeconds,
      keyRefreshIntervalSeconds: config.keyRefreshIntervalSeconds,
      keyActivationDelaySeconds: config.keyActivationDelaySeconds,
      rotateRefreshTokens: config.rotateRefreshTokens,
      blacklistAfterRotation: config.blacklistAfterRotation,
      refreshReuseIntervalSeconds: config.refreshReuseIntervalSeconds,
    },
  }
}

export interface App {
  config: Config
  db: Db
  auth: AuthService
  /** The OAuth server's settings (issuer, resource, lifetimes) and signing keys; bound once listening. */
  oauth: OAuthSettingsRef
  /** http://host:port once listening. */
  url: string
  /** Stops accepting, lets in-flight requests finish, then closes the pool. */
  close(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

export interface StartOptions {
  config: Config
  /** Use this database instead of opening one from the config (tests). */
  db?: Db
  onError?: (error: unknown, path: string | undefined) => void
  /**
   * Custom authentication schemes, beside the built-in `bearer`, `token`, `session` and `cookie`. Each is named in
   * AUTH_SCHEMES by its `scheme`; with AUTH_SCHEMES unset they are tried after the built-ins.
   * @default []
   */
  authenticators?: readonly AuthenticatorFactory[]
  /** The auth service's time (tests move it to expire sessions and tokens). @default systemClock */
  clock?: Clock | undefined
  /** How login waits out a brute-force delay (tests record it instead). @default setTimeout */
  sleep?: ((ms: number) => Promise<void>) | undefined
  /** Where a line for the operator goes (SECRET_KEY taken from DATA_DIR on Postgres). */
  onWarning?: ((line: string) => void) | undefined
}

export async function startApp(opts: StartOptions): Promise<App> {
  const { config, warning } = await resolveSecretKey(opts.config)
  if (warning) opts.onWarning?.(warning)
  const ownsDb = !opts.db
  // Process-wide: hashing may hold only some of libuv's threads, whichever app hashes.
  setPasswordHashConcurrency(config.passwordHashConcurrency)
  setPasswordHashMaxWait(config.passwordHashMaxWaitSeconds * 1000)
  const db =
    opts.db ??
    (await createDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: config.dbPoolSize }))
  try {
    await migrate(db)
    // A lost audit row never fails a request; the operator hears of it like any unexpected error.
    const onAuditError = (error: unknown) => opts.onError?.(error, 'audit log')
    const auth = await createAuthService({
      db,
      ...authOptions(config),
      cache: config.authCache,
      onCacheError: (error: unknown) => opts.onError?.(error, 'auth cache (LISTEN connection)'),
      onAuditError,
      ...(opts.clock ? { clock: opts.clock } : {}),
      sleep: opts.sleep,
    })
    const oauth = await createOAuthServer({ auth, config, onError: opts.onError })
    const authenticators = resolveAuthenticators({ auth, config, oauth: oauth.settings }, opts.authenticators)
    const server = createHttpServer({ auth, config, authenticators, onError: opts.onError, oauth })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(config.port, config.host, () => {
        server.off('error', reject)
        resolve()
      })
    })
    const { port } = server.address() as AddressInfo
    const host = config.host.includes(':') ? `[${config.host}]` : config.host
    let closing: Promise<void> | undefined
    const close = () =>
      (closing ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve())
          server.closeIdleConnections()
        })
        await auth.close()
        if (ownsDb) await db.destroy()
      })())
    const url = `http://${host}:${port}`
    // Before any request is read: `listen`'s callback runs ahead of the first connection's.
    auth.setDefaultIssuer(url)
    oauth.bind(url)
    return { config, db, auth, oauth: oauth.settings, url, close, [Symbol.asyncDispose]: close }
  } catch (err) {
    if (ownsDb) await db.destroy().catch(() => undefined)
    throw err
  }
}
