/**
 * The auth service: every operation the server and the CLI need, over one database and one key
 * ring, with no HTTP in sight. The server adapts it to tRPC; the CLI calls it directly.
 *
 * Composed here from the core (core.ts: the wiring) and one service per feature, each in its own
 * file and spread into one object: users and login (users/), JWTs (tokens/jwt-service.ts), API
 * keys (tokens/api-token-service.ts), sliding tokens, sessions, groups and signing keys.
 */
import type { ServiceCore } from './core.js'
import type { AuthServiceOptions } from './options.js'
import type { Rate, ThrottleResult } from './throttle/index.js'
import { createCore } from './core.js'
import { pruneExpired } from './maintenance/prune.js'
import { groupService } from './groups/service.js'
import { keyService } from './jwt/keys-service.js'
import { sessionService } from './sessions/service.js'
import { hitCounter } from './throttle/index.js'
import { apiTokenService } from './tokens/api-token-service.js'
import { jwtService } from './tokens/jwt-service.js'
import { slidingService } from './tokens/sliding.js'
import { loginCheck } from './users/login.js'
import { userService } from './users/service.js'

export type AuthService = Awaited<ReturnType<typeof createAuthService>>

/**
 * @example
 * const auth = await createAuthService({ db, jwt: { algorithm: 'EdDSA' } })
 * const { access, refresh, user } = await auth.login({ username: 'alice', password: '…' })
 */
export async function createAuthService(opts: AuthServiceOptions) {
  const base = await createCore(opts)
  const { db, clock, cost, tokens, keys, secrets, cache, bus, audit, pruner } = base
  const { afterWrite, loadUser, cachedUser, throttleState, throttleBatch } = base
  // What the features share (and `auth.core`): the wiring and the one password check.
  const checkLogin = loginCheck(base, opts)
  const core: ServiceCore = { db, clock, cost, tokens, checkLogin, loadUser, cachedUser, cache, bus, audit, afterWrite }
  const users = userService(core, opts)

  return {
    db,
    keys,
    /** Encrypts the secrets stored in the database under the secret key (the OAuth server's too). */
    secrets,
    clock,
    tokens,
    /** Writes one audit event; never throws (see audit/audit.ts). */
    audit,
    /** For feature modules and tests; not a stable API. */
    core,

    /**
     * Resolves once every credential change committed before the call has reached this process's
     * cache (a NOTIFY round trip; at once when caching is off). The server awaits it after every
     * mutation, so a revocation is in force here before its response leaves.
     */
    settle: (): Promise<void> => bus?.sync() ?? Promise.resolve(),

    /**
     * The issuer when `jwt.issuer` was not given: the server's public URL, known once it listens
     * (as the OAuth issuer's default is). Call it before the first token is signed or verified.
     */
    setDefaultIssuer(url: string): void {
      if (opts.jwt.issuer === undefined) tokens.issuer = url
    },

    /** Stops the cache's LISTEN connection. The pool stays the caller's to close. */
    close: async (): Promise<void> => {
      await bus?.close()
    },

    ...users,

    ...apiTokenService(core, {
      secrets,
      createUser: users.createUser,
      lastUsedIntervalSeconds: opts.apiTokenLastUsedIntervalSeconds,
    }),

    ...jwtService(core),

    ...slidingService(core),

    /** Server-side sessions behind the `sessionid` cookie (sessions/service.ts). */
    ...sessionService(core, opts.sessions),

    ...groupService(core),

    /** flushexpiredtokens: expired outstanding tokens, sessions and API keys, counted. */
    flushExpiredTokens: () => pruneExpired(db, clock()),

    /** Resolves once a background prune in progress is over (tests, shutdown). */
    pruneSettled: () => pruner.settled(),

    ...keyService(base),

    /**
     * Counts one request against `key` at `rate` (the server's throttle middleware), in the
     * database shared by every process, with this process's fast path for refused keys and its
     * concurrent requests' counts sent together.
     */
    throttle: (key: string, rate: Rate): Promise<ThrottleResult> =>
      hitCounter(db, { key, ...rate, clock, state: throttleState, batch: throttleBatch }),
  }
}
