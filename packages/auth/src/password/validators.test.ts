import { describe, expect, it } from 'vitest'

import type { PasswordUserAttributes } from './validators.js'
import {
  commonPasswordValidator,
  DEFAULT_PASSWORD_VALIDATORS,
  getCommonPasswords,
  minimumLengthValidator,
  numericPasswordValidator,
  userAttributeSimilarityValidator,
  validatePassword,
} from './validators.js'

const SIMILAR_USERNAME = 'The password is too similar to the username.'
const SIMILAR_EMAIL = 'The password is too similar to the email address.'
const SIMILAR_FIRST_NAME = 'The password is too similar to the first name.'
const SIMILAR_LAST_NAME = 'The password is too similar to the last name.'
const TOO_SHORT = 'This password is too short. It must contain at least 8 characters.'
const TOO_COMMON = 'This password is too common.'
const NUMERIC = 'This password is entirely numeric.'

// Django's test_validators.py user.
const TEST_CLIENT: PasswordUserAttributes = {
  username: 'testclient',
  email: 'testclient@example.com',
  first_name: 'Test',
  last_name: 'Client',
}

// Expected messages printed by Django 3.2.25's own validate_password() with the four default
// validators and an unsaved django.contrib.auth User carrying these fields.
const DJANGO_RESULTS: [string, PasswordUserAttributes, string[]][] = [
  ['password', { username: 'password1' }, [SIMILAR_USERNAME, TOO_COMMON]],
  [
    'testclient',
    { username: 'testclient', email: 'testclient@example.com', first_name: 'Test', last_name: 'Client' },
    [SIMILAR_USERNAME],
  ],
  [
    'example.com',
    { username: 'testclient', email: 'testclient@example.com', first_name: 'Test', last_name: 'Client' },
    [SIMILAR_EMAIL],
  ],
  ['tneilctset', { username: 'testclient' }, [SIMILAR_USERNAME]],
  ['Jean-Luc!', { first_name: 'Jean-Luc', last_name: 'Picard' }, [SIMILAR_FIRST_NAME]],
  ['picardpicardpicard', { first_name: 'Jean-Luc', last_name: 'Picard' }, []],
  ['LÈTMEIN-Zoë', { username: 'zoë', last_name: 'Lètmein' }, [SIMILAR_LAST_NAME]],
  ['a'.repeat(82), { username: 'a', email: 'aaaaaaaa@aaaaaaa.aa' }, []], // short parts skipped by the length ratio
  ['qwertyuiop', { username: 'qwerty', email: 'qwerty@example.com' }, [SIMILAR_USERNAME, TOO_COMMON]],
  ['12345678', {}, [TOO_COMMON, NUMERIC]],
  ['１２３４５６７８９０１２', {}, [NUMERIC]],
  ['', { username: 'x' }, [TOO_SHORT]],
  ['', {}, [TOO_SHORT]],
  ['x', { email: '@@' }, [TOO_SHORT, TOO_COMMON]],
  ['s3cr3t', { username: 'bob' }, [TOO_SHORT]],
  ['correct horse battery staple', { username: 'horse', email: 'staple@battery.example' }, []],
  ['  Dragon  ', {}, [TOO_COMMON]],
  ['🔥🔥🔥🔥🔥🔥🔥', { username: '🔥🔥🔥' }, [TOO_SHORT]], // 7 code points, 14 UTF-16 units
  ['john.smith.1999', { email: 'john.smith@example.com', first_name: 'John' }, []],
  ['mary_ann_2000!', { username: 'mary_ann' }, [SIMILAR_USERNAME]],
  ['', { email: '@' }, [SIMILAR_EMAIL, TOO_SHORT]], // '' vs the empty parts of '@': ratio 1
  ['abcdefghij', { username: 'a' }, [TOO_COMMON]],
  ['ΟΔΥΣΣΕΥΣ', { username: 'οδυσσευς' }, [SIMILAR_USERNAME]],
  // Different emoji share a UTF-16 high surrogate; counted by code point they don't match.
  ['ab😀cd😁', { username: 'ab🔥cd🔥' }, [TOO_SHORT]],
  ['ab😀cd😁ef', { username: 'ab🔥cd🔥ef' }, [SIMILAR_USERNAME]],
]

describe('validatePassword', () => {
  it('gives the messages Django gives, in validator order', () => {
    for (const [password, user, messages] of DJANGO_RESULTS) {
      expect(validatePassword(password, user), JSON.stringify({ password, user })).toEqual(messages)
    }
  })

  it('returns no messages for a good password', () => {
    expect(validatePassword('gatehouse-opens-at-nine', TEST_CLIENT)).toEqual([])
  })

  it('runs only the validators it is given', () => {
    expect(validatePassword('123', {}, [numericPasswordValidator()])).toEqual([NUMERIC])
    expect(validatePassword('123', {}, [])).toEqual([])
  })

  it("uses Django's default validators in Django's order", () => {
    expect(DEFAULT_PASSWORD_VALIDATORS.map((validator) => validator.name)).toEqual([
      'UserAttributeSimilarityValidator',
      'MinimumLengthValidator',
      'CommonPasswordValidator',
      'NumericPasswordValidator',
    ])
    expect(Object.isFrozen(DEFAULT_PASSWORD_VALIDATORS)).toBe(true)
  })
})

describe('userAttributeSimilarityValidator', () => {
  it("rejects 'password' for the username 'password1'", () => {
    expect(userAttributeSimilarityValidator().validate('password', { username: 'password1' })).toBe(SIMILAR_USERNAME)
  })

  // Ported from Django's test_validators.py.
  it('names the attribute that matched, with Django verbose names', () => {
    const validator = userAttributeSimilarityValidator()
    expect(validator.validate('testclient', TEST_CLIENT)).toBe(SIMILAR_USERNAME)
    expect(validator.validate('example.com', TEST_CLIENT)).toBe(SIMILAR_EMAIL)
    expect(
      userAttributeSimilarityValidator({ attributes: ['first_name'], maxSimilarity: 0.3 }).validate(
        'testclient',
        TEST_CLIENT,
      ),
    ).toBe(SIMILAR_FIRST_NAME)
    expect(userAttributeSimilarityValidator({ attributes: ['last_name'] }).validate('CLIENT', TEST_CLIENT)).toBe(
      SIMILAR_LAST_NAME,
    )
    expect(
      userAttributeSimilarityValidator({ attributes: ['first_name'] }).validate('testclient', TEST_CLIENT),
    ).toBeNull()
  })

  it('with maxSimilarity 1 still rejects a password equal to the attribute', () => {
    const validator = userAttributeSimilarityValidator({ attributes: ['first_name'], maxSimilarity: 1 })
    expect(validator.validate('test', TEST_CLIENT)).toBe(SIMILAR_FIRST_NAME)
    expect(validator.validate('tset', TEST_CLIENT)).toBe(SIMILAR_FIRST_NAME) // quick_ratio ignores order
    expect(validator.validate('tes', TEST_CLIENT)).toBeNull()
  })

  it('refuses a maxSimilarity below 0.1', () => {
    for (const maxSimilarity of [0.09, 0, -1, Number.NaN]) {
      expect(() => userAttributeSimilarityValidator({ maxSimilarity })).toThrow('max_similarity must be at least 0.1')
    }
  })

  it('ignores missing and empty attributes', () => {
    const validator = userAttributeSimilarityValidator()
    for (const user of [
      {},
      { username: '' },
      { username: undefined },
      { email: null } as unknown as PasswordUserAttributes,
    ]) {
      expect(validator.validate('password', user)).toBeNull()
    }
  })
})

describe('minimumLengthValidator', () => {
  it("gives Django's message below the minimum and passes at it", () => {
    const validator = minimumLengthValidator()
    for (const password of ['', 'a', '1234567', 'abcdefg']) {
      expect(validator.validate(password, {})).toBe(TOO_SHORT)
    }
    expect(validator.validate('12345678', {})).toBeNull()
  })

  it('says "character" for a minimum of 1', () => {
    expect(minimumLengthValidator({ minLength: 1 }).validate('', {})).toBe(
      'This password is too short. It must contain at least 1 character.',
    )
    expect(minimumLengthValidator({ minLength: 12 }).validate('elevenchars', {})).toBe(
      'This password is too short. It must contain at least 12 characters.',
    )
  })

  it('counts code points, not UTF-16 units', () => {
    expect(minimumLengthValidator({ minLength: 4 }).validate('🔑🔑🔑', {})).toBe(
      'This password is too short. It must contain at least 4 characters.',
    )
  })
})

describe('commonPasswordValidator', () => {
  it('rejects common passwords whatever their case or surrounding spaces', () => {
    const validator = commonPasswordValidator()
    for (const password of ['password', '123456', 'PASSWORD', ' Password\t', 'qwerty', 'letmein']) {
      expect(validator.validate(password, {})).toBe(TOO_COMMON)
    }
    expect(validator.validate('gatehouse-opens-at-nine', {})).toBeNull()
  })

  it("loads Django's list of about 20,000 passwords", () => {
    const passwords = getCommonPasswords()
    expect(passwords.size).toBeGreaterThan(10_000)
    expect(passwords.size).toBe(19_727)
    expect(passwords.has('password')).toBe(true)
    expect(passwords.has('123456')).toBe(true)
    expect(passwords.has('')).toBe(false)
    for (const password of passwords) {
      if (password !== password.toLowerCase().trim()) throw new Error(`not normalised: ${password}`)
    }
    expect(getCommonPasswords()).toBe(passwords)
  })
})

describe('numericPasswordValidator', () => {
  it('rejects passwords made only of digits', () => {
    const validator = numericPasswordValidator()
    for (const password of ['0', '12345678', '٣١٤١٥٩', '１２３']) {
      expect(validator.validate(password, {})).toBe(NUMERIC)
    }
    for (const password of ['', '1234567a', '1 2', '-1', '1.5', '12e3']) {
      expect(validator.validate(password, {})).toBeNull()
    }
  })
})
