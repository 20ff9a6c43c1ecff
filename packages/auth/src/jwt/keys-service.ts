/**
 * The signing keys' operations (gatehouse rotatekey, retirekey): the key ring (keys.ts) does the
 * work; retiring also drops from this process's cache the tokens the key verified.
 */
import type { AuthCore } from '../core.js'

/**
 * The key operations, spread into the auth service.
 * @example
 * await auth.rotateKeys()
 */
export function keyService(core: Pick<AuthCore, 'keys' | 'cache'>) {
  const { keys, cache } = core

  return {
    rotateKeys: () => keys.rotate(),

    /**
     * gatehouse retirekey: the key stops signing and verifying (see KeyRing.retire), in this
     * process once this resolves. Tokens it verified are dropped here rather than when the
     * retirement's NOTIFY comes back: until then the cache would still serve them.
     */
    async retireKey(kid: string): Promise<void> {
      await keys.retire(kid)
      cache?.keysChanged()
    },
  }
}
