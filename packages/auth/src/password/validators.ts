/**
 * Django's four default password validators (django.contrib.auth.password_validation), as data, in
 * the order Django's project template lists them, with Django's English messages word for word so
 * clients built against a Django backend show the same text.
 *
 * common-passwords.txt.gz is Django's own list, byte for byte: the file
 * django/contrib/auth/common-passwords.txt.gz from Debian's python3-django 3:3.2.25-0+deb12u7
 * (Django 3.2.25), sha256 a73d3d14f1e9ee570a18232dc1edfd129dc9c0da4315da2b69ad6d92914a6fe6,
 * 19,727 lowercased, deduplicated passwords, one per line. Django credits the list to Royce
 * Williams (gist.github.com/roycewilliams/281ce539915a947a23db17137d91aeb7). It is distributed
 * under Django's BSD-3-Clause license:
 *
 *   Copyright (c) Django Software Foundation and individual contributors. All rights reserved.
 *
 *   Redistribution and use in source and binary forms, with or without modification, are
 *   permitted provided that the following conditions are met:
 *   1. Redistributions of source code must retain the above copyright notice, this list of
 *      conditions and the following disclaimer.
 *   2. Redistributions in binary form must reproduce the above copyright notice, this list of
 *      conditions and the following disclaimer in the documentation and/or other materials
 *      provided with the distribution.
 *   3. Neither the name of Django nor the names of its contributors may be used to endorse or
 *      promote products derived from this software without specific prior written permission.
 *
 *   THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS" AND ANY EXPRESS
 *   OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE IMPLIED WARRANTIES OF
 *   MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE ARE DISCLAIMED. IN NO EVENT SHALL THE
 *   COPYRIGHT OWNER OR CONTRIBUTORS BE LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL,
 *   EXEMPLARY, OR CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF SUBSTITUTE
 *   GOODS OR SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER CAUSED AND
 *   ON ANY THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY, OR TORT (INCLUDING
 *   NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE OF THIS SOFTWARE, EVEN IF ADVISED
 *   OF THE POSSIBILITY OF SUCH DAMAGE.
 *
 * Lengths and similarity are counted in Unicode code points, as Python counts `len(str)`, not in
 * UTF-16 units.
 */
import { readFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'

/** The user fields a password is compared against; Django's `User` attribute names. */
export type PasswordUserAttributes = {
  username?: string
  email?: string
  first_name?: string
  last_name?: string
}

/** One password rule: `validate` returns the message to show, or `null` when the rule passes. */
export type PasswordValidator = {
  name: string
  validate(password: string, user: PasswordUserAttributes): string | null
}

export type UserAttribute = keyof PasswordUserAttributes

export type UserAttributeSimilarityOptions = {
  /**
   * Which user fields to compare against.
   * @default ['username', 'first_name', 'last_name', 'email']
   */
  attributes?: readonly UserAttribute[]
  /**
   * Reject at this `quick_ratio` similarity or above; at least 0.1, `1` rejects only exact
   * matches.
   * @default 0.7
   */
  maxSimilarity?: number
}

export type MinimumLengthOptions = {
  /** @default 8 */
  minLength?: number
}

const DEFAULT_USER_ATTRIBUTES: readonly UserAttribute[] = ['username', 'first_name', 'last_name', 'email']
const DEFAULT_MAX_SIMILARITY = 0.7
const DEFAULT_MIN_LENGTH = 8

// The verbose_name of each field on Django's User model, which is what the message names.
const VERBOSE_NAMES: Record<UserAttribute, string> = {
  username: 'username',
  first_name: 'first name',
  last_name: 'last name',
  email: 'email address',
}

// Python's `\W` on str: anything but a letter, a number or '_' (str.isalnum() plus '_').
const NON_WORD = /[^\p{L}\p{N}_]+/u
// Python's str.isdigit(), less the few No-category digits (superscripts, circled digits).
const ALL_DIGITS = /^\p{Nd}+$/u

/**
 * Django's UserAttributeSimilarityValidator: rejects a password too similar to the username,
 * names or email address, or to any word in them (`john` in `john.smith@example.com`).
 *
 * @example
 * userAttributeSimilarityValidator({ attributes: ['username', 'email'], maxSimilarity: 0.6 })
 */
export function userAttributeSimilarityValidator(opts: UserAttributeSimilarityOptions = {}): PasswordValidator {
  const attributes = opts.attributes ?? DEFAULT_USER_ATTRIBUTES
  const maxSimilarity = opts.maxSimilarity ?? DEFAULT_MAX_SIMILARITY
  // Below 0.1 nearly every password would be rejected; Django refuses such a setting too.
  if (!(maxSimilarity >= 0.1)) throw new TypeError('max_similarity must be at least 0.1')
  return {
    name: 'UserAttributeSimilarityValidator',
    validate(password, user) {
      const passwordChars = [...password.toLowerCase()]
      for (const attribute of attributes) {
        const value: unknown = user[attribute]
        if (typeof value !== 'string' || value === '') continue
        const valueLower = value.toLowerCase()
        for (const part of [...valueLower.split(NON_WORD), valueLower]) {
          const partChars = [...part]
          if (exceedsMaximumLengthRatio(passwordChars.length, maxSimilarity, partChars.length)) continue
          if (quickRatio(passwordChars, partChars) >= maxSimilarity) {
            return `The password is too similar to the ${VERBOSE_NAMES[attribute]}.`
          }
        }
      }
      return null
    },
  }
}

/**
 * Django's MinimumLengthValidator.
 *
 * @example
 * minimumLengthValidator({ minLength: 12 })
 */
export function minimumLengthValidator(opts: MinimumLengthOptions = {}): PasswordValidator {
  const minLength = opts.minLength ?? DEFAULT_MIN_LENGTH
  const unit = minLength === 1 ? 'character' : 'characters'
  const message = `This password is too short. It must contain at least ${minLength} ${unit}.`
  return {
    name: 'MinimumLengthValidator',
    validate: (password) => ([...password].length < minLength ? message : null),
  }
}

/**
 * Django's CommonPasswordValidator, on Django's list of ~20,000 common passwords. The list is
 * read on first use.
 *
 * @example
 * commonPasswordValidator().validate('Password ', {}) // 'This password is too common.'
 */
export function commonPasswordValidator(): PasswordValidator {
  return {
    name: 'CommonPasswordValidator',
    validate: (password) =>
      getCommonPasswords().has(password.toLowerCase().trim()) ? 'This password is too common.' : null,
  }
}

/**
 * Django's NumericPasswordValidator.
 *
 * @example
 * numericPasswordValidator().validate('20250110', {}) // 'This password is entirely numeric.'
 */
export function numericPasswordValidator(): PasswordValidator {
  return {
    name: 'NumericPasswordValidator',
    validate: (password) => (ALL_DIGITS.test(password) ? 'This password is entirely numeric.' : null),
  }
}

/** Django's AUTH_PASSWORD_VALIDATORS from `startproject`, in that order, with its defaults. */
export const DEFAULT_PASSWORD_VALIDATORS: readonly PasswordValidator[] = Object.freeze([
  userAttributeSimilarityValidator(),
  minimumLengthValidator(),
  commonPasswordValidator(),
  numericPasswordValidator(),
])

/**
 * Runs every validator and collects their messages, like Django's `validate_password`, so the
 * user sees all the problems at once.
 *
 * @example
 * validatePassword('alice2024', { username: 'alice' })
 * // ['The password is too similar to the username.']
 */
export function validatePassword(
  password: string,
  user: PasswordUserAttributes,
  validators: readonly PasswordValidator[] = DEFAULT_PASSWORD_VALIDATORS,
): string[] {
  const messages: string[] = []
  for (const validator of validators) {
    const message = validator.validate(password, user)
    if (message !== null) messages.push(message)
  }
  return messages
}

let commonPasswords: ReadonlySet<string> | undefined

/**
 * Django's common-password list as a Set, decompressed on the first call (a few milliseconds,
 * once per process) rather than at import, so processes that never validate passwords don't pay.
 */
export function getCommonPasswords(): ReadonlySet<string> {
  if (!commonPasswords) {
    const text = gunzipSync(readFileSync(new URL('./common-passwords.txt.gz', import.meta.url))).toString('utf8')
    commonPasswords = new Set(
      text
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => line !== ''),
    )
  }
  return commonPasswords
}

// Django's exceeds_maximum_length_ratio: past 10× the value's length, quick_ratio can't reach
// max_similarity, so skip the comparison. Also keeps a megabyte password from costing a
// megabyte-sized count per attribute.
function exceedsMaximumLengthRatio(passwordLength: number, maxSimilarity: number, valueLength: number): boolean {
  const lengthBoundSimilarity = (maxSimilarity / 2) * passwordLength
  return passwordLength >= 10 * valueLength && valueLength < lengthBoundSimilarity
}

// difflib.SequenceMatcher(a=a, b=b).quick_ratio(): the size of the multiset intersection of the
// two sequences, scaled to 0..1. An upper bound on ratio(), and what Django compares against.
function quickRatio(a: readonly string[], b: readonly string[]): number {
  const available = new Map<string, number>()
  for (const element of b) available.set(element, (available.get(element) ?? 0) + 1)
  let matches = 0
  for (const element of a) {
    const count = available.get(element) ?? 0
    if (count > 0) matches++
    available.set(element, count - 1)
  }
  const length = a.length + b.length
  // difflib's _calculate_ratio: two empty sequences are identical.
  return length === 0 ? 1 : (2 * matches) / length
}
