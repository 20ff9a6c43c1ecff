export type { PasswordHashOptions, PasswordVerification } from './hash.js'
export {
  hashPassword,
  isVerifiableHash,
  measurePbkdf2,
  passwordFailureFloor,
  setPasswordHashMaxWait,
  verifyDummyPassword,
  verifyPassword,
  warmPasswordHashing,
} from './hash.js'
export { FailureFloor, type FailureFloorOptions } from './failure-floor.js'
export {
  DEFAULT_THREADPOOL_SIZE,
  defaultHashConcurrency,
  passwordHashSlots,
  QueueFullError,
  Semaphore,
  setPasswordHashConcurrency,
  type RunOptions,
  type SlotPriority,
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
