/**
 * Tokens in the Web Storage API. Anything that can run script on the page can read them there,
 * so use it only where that is acceptable (no third-party scripts, a strict CSP); `sessionStorage`
 * at least forgets them when the tab closes.
 */
import type { TokenStorage } from './token-storage.js'
import { toTokens } from './token-storage.js'

/** The part of the Web Storage API this adapter uses; `localStorage` and `sessionStorage` fit. */
export interface WebStorageLike {
  getItem(key: string): string | null
  setItem(key: string, value: string): void
  removeItem(key: string): void
}

/**
 * Keeps the tokens as JSON under one key of a Web Storage area. A missing, corrupted or foreign
 * value reads as "logged out" instead of throwing.
 *
 * @param storage the storage area. @default globalThis.localStorage
 * @param key the key to store under. @default 'gatehouse.tokens'
 * @throws TypeError when no storage is given and the runtime has no `localStorage` (Node).
 *
 * @example
 * ```ts
 * const client = createGatehouseClient({ url, storage: webStorage(sessionStorage) })
 * ```
 */
export function webStorage(
  storage: WebStorageLike | undefined = (globalThis as { localStorage?: WebStorageLike }).localStorage,
  key = 'gatehouse.tokens',
): TokenStorage {
  if (!storage) {
    throw new TypeError('webStorage(): no storage given and globalThis.localStorage is not available here')
  }
  return {
    get() {
      const raw = storage.getItem(key)
      if (raw === null) return null
      try {
        return toTokens(JSON.parse(raw))
      } catch {
        return null
      }
    },
    set(tokens) {
      storage.setItem(key, JSON.stringify({ access: tokens.access, refresh: tokens.refresh }))
    },
    clear() {
      storage.removeItem(key)
    },
  }
}
