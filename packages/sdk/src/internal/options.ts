/**
 * The options of `createGatehouseClient`, checked once, when the client is built: a mistake is a
 * TypeError naming the option at construction, not a puzzling failure at the first call (a key
 * sent with a mode it cannot have, a jar that no request would ever use).
 */
import type { TokenStorage } from '../storage/token-storage.js'
import type { GatehouseClientOptions, GatehouseMode } from '../types.js'
import { memoryStorage } from '../storage/memory.js'

// Keyed by mode so that `tsc` refuses a mode added to GatehouseMode (types.ts) but not here.
const MODES: Readonly<Record<GatehouseMode, true>> = { jwt: true, cookie: true, sliding: true }

/** The options the client runs with: checked, the defaults filled in. */
export interface ClientSettings {
  /** The tRPC endpoint: the server's URL, without trailing slashes, plus `/trpc`. */
  url: string
  mode: GatehouseMode
  apiToken: string | undefined
  storage: TokenStorage
  /** The client's clock, ms since the epoch. */
  now: () => number
}

/**
 * @example
 * const { url, mode, storage } = checkOptions({ url: 'https://auth.example.com', mode: 'sliding' })
 */
export function checkOptions(opts: GatehouseClientOptions): ClientSettings {
  if (!opts?.url) throw new TypeError('createGatehouseClient(): `url` is required, such as https://auth.example.com')
  const { apiToken } = opts
  const mode = opts.mode ?? 'jwt'
  if (typeof mode !== 'string' || !Object.hasOwn(MODES, mode)) {
    throw new TypeError(
      `createGatehouseClient(): \`mode\` is 'jwt', 'cookie' or 'sliding', not ${JSON.stringify(mode)}`,
    )
  }
  if (apiToken !== undefined) {
    if (typeof apiToken !== 'string' || !/^\S+$/.test(apiToken)) {
      throw new TypeError(
        'createGatehouseClient(): `apiToken` must be a key without spaces, as auth.tokens.create returns it',
      )
    }
    if (opts.storage) throw new TypeError('createGatehouseClient(): give either `apiToken` or `storage`, not both')
    if (opts.mode !== undefined) {
      throw new TypeError('createGatehouseClient(): give either `apiToken` or `mode`, not both (a key is its own mode)')
    }
  }
  if (mode === 'cookie' && opts.storage) {
    throw new TypeError(
      "createGatehouseClient(): mode 'cookie' stores no token (cookies hold the login): drop `storage`",
    )
  }
  if (mode !== 'cookie' && opts.cookies) {
    throw new TypeError("createGatehouseClient(): `cookies` is a jar for mode 'cookie' only")
  }
  return {
    url: `${String(opts.url).replace(/\/+$/, '')}/trpc`,
    mode,
    apiToken,
    storage: opts.storage ?? memoryStorage(),
    now: opts.now ?? Date.now,
  }
}
