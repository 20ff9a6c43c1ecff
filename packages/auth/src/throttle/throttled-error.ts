import { AuthError } from '../errors.js'

/**
 * The THROTTLED error with DRF's message and the seconds to wait, which the server sends as
 * `Retry-After`.
 *
 * @example
 * throttledError(42).message // 'Request was throttled. Expected available in 42 seconds.'
 */
export function throttledError(retryAfterSeconds: number): AuthError {
  const unit = retryAfterSeconds === 1 ? 'second' : 'seconds'
  return new AuthError('THROTTLED', {
    message: `Request was throttled. Expected available in ${retryAfterSeconds} ${unit}.`,
    retryAfterSeconds,
  })
}
