/** SECRET_KEY and SECRET_KEY_FALLBACKS: long and varied enough, never echoed in an error. */
import { MIN_SECRET_KEY_LENGTH } from '@gatehouse/auth'
import * as z from 'zod'

const MIN_SECRET_KEY_CHARACTERS = 10
export const SECRET_KEY_HELP = `at least ${MIN_SECRET_KEY_LENGTH} characters, ${MIN_SECRET_KEY_CHARACTERS} of them different (make one with: openssl rand -base64 32)`

/** Whether a secret key is long and varied enough. Its value is never echoed in an error. */
function strongSecretKey(value: string): boolean {
  return value.length >= MIN_SECRET_KEY_LENGTH && new Set(value).size >= MIN_SECRET_KEY_CHARACTERS
}

/** SECRET_KEY: derives the key that encrypts secrets at rest (and the DRF token HMAC key). */
export const secretKey = z.string().refine(strongSecretKey, `expected ${SECRET_KEY_HELP}`)

/** SECRET_KEY_FALLBACKS: earlier SECRET_KEYs, comma-separated (Django's setting of that name). */
export const secretKeyList = z.string().transform((value, ctx): readonly string[] => {
  const keys = value
    .split(',')
    .map((key) => key.trim())
    .filter(Boolean)
  const bad = keys.findIndex((key) => !strongSecretKey(key))
  if (bad >= 0) {
    ctx.addIssue({
      code: 'custom',
      message: `expected comma-separated keys, each ${SECRET_KEY_HELP}; key ${bad + 1} is not`,
    })
    return z.NEVER
  }
  return Object.freeze(keys)
})
