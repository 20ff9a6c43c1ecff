import type { TestDatabase } from '@gatehouse/db/testing'
import { createTestDb, TEST_BACKEND } from '@gatehouse/db/testing'
import { afterEach, describe, expect, it } from 'vitest'

import { createAuthService } from '../service.js'
import { TEST_SECRET_KEY } from '../testing.js'
import { ImportFileError, parseDjangoDump } from './django.js'
import { describeImport, importDjangoUsers } from './import.js'

// Django 3.2's test_hashers.py vector for the password 'lètmein' (see password/hash.test.ts).
const PBKDF2 = 'pbkdf2_sha256$260000$seasalt$YlZ2Vggtqdc61YjArZuoApoBh9JNGYoDRBUGu6tcJQo='
const OLD_PASSWORD = 'lètmein'
const ARGON2 = 'argon2$argon2id$v=19$m=102400,t=2,p=8$c29tZXNhbHQ$aGFzaA'

function user(pk: number | undefined, fields: Record<string, unknown>) {
  return {
    model: 'auth.user',
    ...(pk === undefined ? {} : { pk }),
    fields: {
      password: PBKDF2,
      last_login: null,
      is_superuser: false,
      first_name: '',
      last_name: '',
      email: '',
      is_staff: false,
      is_active: true,
      date_joined: '2024-05-01T09:30:00.123Z',
      groups: [],
      user_permissions: [],
      ...fields,
    },
  }
}

// `manage.py dumpdata auth.user auth.group`: ids everywhere, users before groups.
const PLAIN = JSON.stringify([
  user(3, { username: 'alice', email: 'alice@example.com', is_staff: true, groups: [1, 2], first_name: 'Alice' }),
  user(4, { username: 'bob', password: ARGON2, last_login: '2025-12-24T18:00:00Z' }),
  user(5, { username: 'carol', password: '!zYx1WvUtSrQpOnMlKjIhGfEdCbA0987654321' }),
  { model: 'auth.group', pk: 1, fields: { name: 'Reviewers', permissions: [12, 13] } },
  { model: 'auth.group', pk: 2, fields: { name: 'HR', permissions: [] } },
])

// `--natural-foreign --natural-primary`: no pks, groups and permissions by natural key.
const NATURAL = JSON.stringify([
  {
    model: 'auth.group',
    fields: {
      name: 'Editors-import',
      permissions: [
        ['change_article', 'blog', 'article'],
        ['add_logentry', 'admin', 'logentry'],
      ],
    },
  },
  user(undefined, {
    username: 'dave',
    is_superuser: true,
    groups: [['Editors-import']],
    user_permissions: [['view_user', 'auth', 'user']],
  }),
  { model: 'contenttypes.contenttype', fields: { app_label: 'blog', model: 'article' } },
])

const CSV = [
  'id,username,password,email,first_name,last_name,is_staff,is_superuser,is_active,date_joined,last_login,groups',
  `7,erin,${PBKDF2},erin@example.com,"Erin, Jr.","O""Neil",t,f,t,2023-02-03 04:05:06.789012+00,,Reviewers; HR`,
  `8,frank,${PBKDF2},,,,False,False,False,2023-02-03T04:05:06,2024-01-01T00:00:00+02:00,`,
  '',
].join('\r\n')

describe(`${TEST_BACKEND}: importing a Django dump`, () => {
  let t: TestDatabase | undefined
  afterEach(async () => {
    await t?.[Symbol.asyncDispose]()
    t = undefined
  })
  async function db() {
    t = await createTestDb()
    return t.db
  }
  const usersOf = (d: TestDatabase['db'], names: string[]) =>
    d
      .selectFrom('users')
      .select([
        'id',
        'username',
        'password',
        'email',
        'first_name',
        'last_name',
        'is_staff',
        'is_superuser',
        'is_active',
      ])
      .select(['date_joined', 'last_login'])
      .where('username', 'in', names)
      .orderBy('id')
      .execute()
  const groupsOf = async (d: TestDatabase['db'], username: string) =>
    (
      await d
        .selectFrom('user_groups as ug')
        .innerJoin('groups as g', 'g.id', 'ug.group_id')
        .innerJoin('users as u', 'u.id', 'ug.user_id')
        .select('g.name')
        .where('u.username', '=', username)
        .orderBy('g.name')
        .execute()
    ).map((r) => r.name)

  it('imports dumpdata JSON with ids: hashes as they were, ids kept, unverifiable hashes made unusable', async () => {
    const d = await db()
    const report = await importDjangoUsers(d, parseDjangoDump(PLAIN, { source: 'users.json' }))
    expect(describeImport(report)).toBe(
      'Imported 3 users and 1 group (2 without a usable password: bob (argon2), carol (unusable); ' +
        '1 group existed already: HR; 2 permission ids skipped: dump with --natural-foreign to map them).',
    )
    const rows = await usersOf(d, ['alice', 'bob', 'carol'])
    expect(rows.map((r) => [r.id, r.username])).toEqual([
      [3, 'alice'],
      [4, 'bob'],
      [5, 'carol'],
    ])
    expect(rows[0]).toMatchObject({
      password: PBKDF2,
      email: 'alice@example.com',
      first_name: 'Alice',
      is_staff: true,
      is_superuser: false,
      is_active: true,
      date_joined: new Date('2024-05-01T09:30:00.123Z'),
      last_login: null,
    })
    expect(rows[1]?.last_login).toEqual(new Date('2025-12-24T18:00:00Z'))
    for (const row of rows.slice(1)) expect(row.password).toMatch(/^![A-Za-z0-9_-]{40}$/)
    expect(await groupsOf(d, 'alice')).toEqual(['HR', 'Reviewers'])

    // the identity sequence moved past the kept ids: new users do not collide with them
    const auth = await createAuthService({
      secretKey: TEST_SECRET_KEY,
      db: d,
      passwordHashCost: 4,
      jwt: { algorithm: 'EdDSA' },
    })
    const later = await auth.register({ username: 'later', password: 'Tr1cky-passphrase' })
    expect(later.id).toBeGreaterThan(5)
  })

  it('logs the imported user in with the old password and moves the hash to bcrypt', async () => {
    const d = await db()
    await importDjangoUsers(d, parseDjangoDump(PLAIN, { source: 'users.json' }))
    const auth = await createAuthService({
      secretKey: TEST_SECRET_KEY,
      db: d,
      passwordHashCost: 4,
      jwt: { algorithm: 'EdDSA' },
    })
    await expect(auth.login({ username: 'bob', password: OLD_PASSWORD })).rejects.toMatchObject({
      code: 'INVALID_CREDENTIALS',
    })
    const { user } = await auth.login({ username: 'alice', password: OLD_PASSWORD })
    expect(user).toMatchObject({ id: 3, username: 'alice', isStaff: true, groups: ['HR', 'Reviewers'] })
    const [row] = await usersOf(d, ['alice'])
    expect(row?.password).toMatch(/^bcrypt_sha256\$\$2b\$04\$/)
    await expect(auth.login({ username: 'alice', password: OLD_PASSWORD })).resolves.toBeTruthy()
  })

  it('imports natural keys: groups by name, permissions mapped to codenames that exist here', async () => {
    const d = await db()
    const report = await importDjangoUsers(d, parseDjangoDump(NATURAL, { source: 'natural.json' }))
    expect(describeImport(report)).toBe(
      'Imported 1 user and 1 group (1 permission not found here: add_logentry; ' +
        '1 record of other models ignored: contenttypes.contenttype).',
    )
    const [dave] = await usersOf(d, ['dave'])
    expect(dave).toMatchObject({ is_superuser: true, password: PBKDF2 })
    expect(await groupsOf(d, 'dave')).toEqual(['Editors-import'])
    const grants = await d
      .selectFrom('group_permissions as gp')
      .innerJoin('groups as g', 'g.id', 'gp.group_id')
      .innerJoin('permissions as p', 'p.id', 'gp.permission_id')
      .select('p.codename')
      .where('g.name', '=', 'Editors-import')
      .execute()
    expect(grants).toEqual([{ codename: 'change_article' }])
    const own = await d
      .selectFrom('user_permissions as up')
      .innerJoin('permissions as p', 'p.id', 'up.permission_id')
      .select('p.codename')
      .where('up.user_id', '=', dave?.id ?? 0)
      .execute()
    expect(own).toEqual([{ codename: 'view_user' }])
  })

  it('imports CSV: quoted fields, t/f and True/False, Postgres and naive timestamps, ;-separated groups', async () => {
    const d = await db()
    const report = await importDjangoUsers(d, parseDjangoDump(CSV, { source: 'users.csv' }))
    expect(describeImport(report)).toBe('Imported 2 users and 1 group (1 group existed already: HR).')
    const rows = await usersOf(d, ['erin', 'frank'])
    expect(rows).toEqual([
      {
        id: 7,
        username: 'erin',
        password: PBKDF2,
        email: 'erin@example.com',
        first_name: 'Erin, Jr.',
        last_name: 'O"Neil',
        is_staff: true,
        is_superuser: false,
        is_active: true,
        date_joined: new Date('2023-02-03T04:05:06.789Z'),
        last_login: null,
      },
      {
        id: 8,
        username: 'frank',
        password: PBKDF2,
        email: '',
        first_name: '',
        last_name: '',
        is_staff: false,
        is_superuser: false,
        is_active: false,
        date_joined: new Date('2023-02-03T04:05:06Z'),
        last_login: new Date('2023-12-31T22:00:00Z'),
      },
    ])
    expect(await groupsOf(d, 'erin')).toEqual(['HR', 'Reviewers'])
  })

  it('skips a username that exists and gives a new id when the old one is taken', async () => {
    const d = await db()
    const auth = await createAuthService({
      secretKey: TEST_SECRET_KEY,
      db: d,
      passwordHashCost: 4,
      jwt: { algorithm: 'EdDSA' },
    })
    const first = await auth.register({ username: 'alice', password: 'Tr1cky-passphrase' }) // id 1
    const dump = JSON.stringify([
      user(1, { username: 'newcomer' }),
      // 2 is free here, and the next id the sequence would have handed newcomer
      user(2, { username: 'two' }),
      user(5, { username: 'ａｌｉｃｅ' }), // alice, as stored (NFKC)
      user(9, { username: 'nine' }),
    ])
    const report = await importDjangoUsers(d, parseDjangoDump(dump, { source: 'd.json' }))
    expect(describeImport(report)).toBe(
      'Imported 3 users and 0 groups (1 skipped: alice exists; 1 given a new id, theirs being taken: newcomer 1 → 10).',
    )
    const rows = await usersOf(d, ['alice', 'newcomer', 'two', 'nine'])
    expect(rows.map((r) => [r.id, r.username, r.password === PBKDF2])).toEqual([
      [first.id, 'alice', false],
      [2, 'two', true],
      [9, 'nine', true],
      [10, 'newcomer', true],
    ])
  })
})

describe('reading a Django dump', () => {
  const bad = (content: string, source = 'f.json') => {
    try {
      parseDjangoDump(content, { source })
    } catch (error) {
      expect(error).toBeInstanceOf(ImportFileError)
      return (error as Error).message
    }
    throw new Error('expected an ImportFileError')
  }

  it('names the record or line of the first problem, in one line', () => {
    const cases: [string, string, string?][] = [
      ['', 'f.json: the file is empty'],
      ['[{"model": "auth.user"', 'f.json: not valid JSON'],
      ['{"model": "auth.user"}', 'f.json: expected a JSON list of records, as manage.py dumpdata writes'],
      ['[1]', 'f.json: record 1: expected {"model": …, "fields": {…}}'],
      [
        JSON.stringify([user(1, { username: 'bad user' })]),
        'f.json: record 1 (auth.user "bad user"): username: Enter a valid username.',
      ],
      [
        JSON.stringify([user(1, { username: 'x', password: 5 })]),
        'f.json: record 1 (auth.user "x"): password: expected a string',
      ],
      [
        JSON.stringify([user(1, { username: 'x', is_staff: 'yes' })]),
        'f.json: record 1 (auth.user "x"): is_staff: expected true or false, got "yes"',
      ],
      [
        JSON.stringify([user(1, { username: 'x', date_joined: 'yesterday' })]),
        'f.json: record 1 (auth.user "x"): date_joined: expected a date and time',
      ],
      [JSON.stringify([user(0, { username: 'x' })]), 'f.json: record 1: pk: expected a positive integer, got 0'],
      [
        JSON.stringify([user(1, { username: 'x', groups: [4] })]),
        'f.json: record 1 (auth.user "x"): groups: group 4 is not in the file',
      ],
      [
        JSON.stringify([user(1, { username: 'x', user_permissions: [['view_user']] })]),
        'f.json: record 1 (auth.user "x"): user_permissions: expected ids or natural keys',
      ],
      [
        JSON.stringify([user(1, { username: 'x' }), user(2, { username: 'x' })]),
        'f.json: record 2 (auth.user "x"): username "x" appears again (first at record 1 (auth.user "x"))',
      ],
      [
        // a look-alike is the same name (NFKC, as every username is stored)
        JSON.stringify([user(1, { username: 'x' }), user(2, { username: 'ｘ' })]),
        'f.json: record 2 (auth.user "ｘ"): username "x" appears again (first at record 1 (auth.user "x"))',
      ],
      [
        JSON.stringify([user(1, { username: 'x' }), user(1, { username: 'y' })]),
        'f.json: record 2 (auth.user "y"): user id 1 appears again',
      ],
      ['username,phone\nx,1\n', 'f.csv: line 1: unknown column "phone"', 'f.csv'],
      ['username,email\nx,x@example.com\n', 'f.csv: line 1: the header has no "password" column', 'f.csv'],
      ['username,password\nx,"abc\n', 'f.csv: line 2: a quoted field is never closed', 'f.csv'],
      [`username,password\nx,${PBKDF2}\ny\n`, 'f.csv: line 3: expected 2 fields as in the header, got 1', 'f.csv'],
      [
        `username,password,is_staff\nx,${PBKDF2},maybe\n`,
        'f.csv: line 2: is_staff: expected true or false, got "maybe"',
        'f.csv',
      ],
      [
        `username,password,first_name\nx,${PBKDF2},"two\nlines"\nbad user,${PBKDF2},\n`,
        'f.csv: line 4: username: Enter a valid username.',
        'f.csv',
      ],
    ]
    for (const [content, message, source] of cases) {
      const got = bad(content, source)
      expect(got.startsWith(message), `${got}\n  does not start with\n${message}`).toBe(true)
      expect(got).not.toContain('\n')
    }
  })
})
