import type { TokenStorage, Tokens } from './token-storage.js'

/**
 * Keeps the tokens in this process only: the default, and the right choice on a server, where a
 * client usually lives as long as the job that uses it.
 *
 * @param initial a pair to start with (say, restored from elsewhere). @default null
 *
 * @example
 * ```ts
 * const client = createGatehouseClient({ url, storage: memoryStorage() })
 * ```
 */
export function memoryStorage(initial: Tokens | null = null): TokenStorage {
  // Copies in and out, so a caller mutating what it got cannot change what is stored.
  let tokens: Tokens | null = initial ? { access: initial.access, refresh: initial.refresh } : null
  return {
    get: () => (tokens ? { ...tokens } : null),
    set(next) {
      tokens = { access: next.access, refresh: next.refresh }
    },
    clear() {
      tokens = null
    },
  }
}
