export type { PasswordHashOptions, PasswordVerification } from './hash.js'
export { hashPassword, isVerifiableHash, verifyDummyPassword, verifyPassword } from './hash.js'
export {
  DEFAULT_THREADPOOL_SIZE,
  defaultHashConcurrency,
  passwordHashSlots,
  Semaphore,
  setPasswordHashConcurrency,
} from './limiter.js'
export type {
  MinimumLengthOptions,
  PasswordUserAttributes,
  PasswordValidator,
  UserAttribute,
  UserAttributeSimilarityOptions,
} from './validators.js'
export {
  commonPasswordValidator,
  DEFAULT_PASSWORD_VALIDATORS,
  minimumLengthValidator,
  numericPasswordValidator,
  userAttributeSimilarityValidator,
  validatePassword,
} from './validators.js'
