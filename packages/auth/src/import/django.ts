/**
 * Reading a Django user dump: the JSON list `manage.py dumpdata auth.user auth.group` writes (with
 * or without `--natural-foreign` / `--natural-primary`), or a CSV of auth_user's columns. The
 * whole file is checked before anything is written; the first problem is an ImportFileError whose
 * one-line message names the record or line.
 */
import { checkUsername, normalizeUsername } from '../users/username.js'
import { CsvSyntaxError, parseCsv } from './csv.js'

/** A permission as the dump names it: a natural key, or an auth_permission id of the old database. */
export type DumpPermission = { codename: string; app: string; model: string } | { id: number }

export interface DumpUser {
  /** Where the user is in the file, for messages: `record 3` or `line 4`. */
  where: string
  /** auth_user.id, when the dump has it. */
  pk: number | null
  username: string
  /** As Django stored it: `pbkdf2_sha256$…`, `argon2$…`, `!…` (unusable), or empty. */
  password: string
  email: string
  firstName: string
  lastName: string
  isActive: boolean
  isStaff: boolean
  isSuperuser: boolean
  dateJoined: Date | null
  lastLogin: Date | null
  /** Group names (ids of the dump resolved to the names of its group records). */
  groups: string[]
  permissions: DumpPermission[]
}

export interface DumpGroup {
  where: string
  name: string
  permissions: DumpPermission[]
}

export interface DjangoDump {
  users: DumpUser[]
  groups: DumpGroup[]
  /** Records of models other than auth.user and auth.group, by model name, with counts. */
  ignored: Map<string, number>
}

export class ImportFileError extends Error {
  override readonly name = 'ImportFileError'
}

const MAX_PK = 2 ** 31 - 1

class RecordError extends Error {}

function fail(message: string): never {
  throw new RecordError(message)
}

function text(value: unknown, name: string, opts: { max: number; required?: boolean }): string {
  if (value === undefined || value === null) {
    if (opts.required) fail(`${name}: missing`)
    return ''
  }
  if (typeof value !== 'string') fail(`${name}: expected a string`)
  if (value.length > opts.max) fail(`${name}: longer than ${opts.max} characters`)
  return value
}

function username(value: unknown): string {
  // Stored and looked up NFKC-normalised, as users/username.ts does for every name.
  const name = normalizeUsername(text(value, 'username', { max: Number.MAX_SAFE_INTEGER, required: true }))
  const problem = checkUsername(name)
  if (problem) fail(`username: ${problem}`)
  return name
}

function pk(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_PK) {
    fail(`${name}: expected a positive integer, got ${JSON.stringify(value)}`)
  }
  return value
}

const TIMESTAMP = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2})?)(?:\.(\d{1,9}))?(Z|[+-]\d{2}(?::?\d{2})?)?$/i

/**
 * Django's `DjangoJSONEncoder` (`2026-01-15T10:20:30.123Z`) and Postgres's text
 * (`2026-01-15 10:20:30.123456+00`). A time without a zone (USE_TZ=False) is taken as UTC.
 */
function timestamp(value: unknown, name: string): Date | null {
  if (value === undefined || value === null || value === '') return null
  const match = typeof value === 'string' ? TIMESTAMP.exec(value.trim()) : null
  if (!match) fail(`${name}: expected a date and time such as 2026-01-15T10:20:30Z, got ${JSON.stringify(value)}`)
  const [, date, time, fraction, zone] = match
  let offset = zone ? zone.toUpperCase() : 'Z'
  if (/^[+-]\d{2}$/.test(offset)) offset += ':00'
  else if (/^[+-]\d{4}$/.test(offset)) offset = `${offset.slice(0, 3)}:${offset.slice(3)}`
  const parsed = new Date(`${date}T${time}${fraction ? `.${fraction.slice(0, 3).padEnd(3, '0')}` : ''}${offset}`)
  if (Number.isNaN(parsed.getTime())) fail(`${name}: not a real date, ${JSON.stringify(value)}`)
  return parsed
}

function flag(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined || value === null) return fallback
  if (typeof value !== 'boolean') fail(`${name}: expected true or false, got ${JSON.stringify(value)}`)
  return value
}

function list(value: unknown, name: string): unknown[] {
  if (value === undefined || value === null) return []
  if (!Array.isArray(value)) fail(`${name}: expected a list`)
  return value
}

function permissions(value: unknown, name: string): DumpPermission[] {
  return list(value, name).map((item) => {
    if (typeof item === 'number') return { id: pk(item, name) }
    const [codename, app, model] = Array.isArray(item) ? (item as unknown[]) : []
    if (
      !Array.isArray(item) ||
      item.length !== 3 ||
      typeof codename !== 'string' ||
      typeof app !== 'string' ||
      typeof model !== 'string'
    ) {
      fail(
        `${name}: expected ids or natural keys such as ["change_article", "blog", "article"], got ${JSON.stringify(item)}`,
      )
    }
    return { codename, app, model }
  })
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Checks what every dump has in common, whatever its format. */
function checkUnique(users: readonly DumpUser[], groups: readonly DumpGroup[]) {
  const seen = new Map<string, string>()
  for (const user of users) {
    const first = seen.get(user.username)
    if (first) throw new RecordError(`${user.where}: username "${user.username}" appears again (first at ${first})`)
    seen.set(user.username, user.where)
  }
  const pks = new Map<number, string>()
  for (const user of users) {
    if (user.pk === null) continue
    const first = pks.get(user.pk)
    if (first) throw new RecordError(`${user.where}: user id ${user.pk} appears again (first at ${first})`)
    pks.set(user.pk, user.where)
  }
  const names = new Map<string, string>()
  for (const group of groups) {
    const first = names.get(group.name)
    if (first) throw new RecordError(`${group.where}: group "${group.name}" appears again (first at ${first})`)
    names.set(group.name, group.where)
  }
}

function parseJson(source: string, content: string): DjangoDump {
  let data: unknown
  try {
    data = JSON.parse(content)
  } catch (error) {
    throw new ImportFileError(`${source}: not valid JSON (${(error as Error).message})`)
  }
  if (!Array.isArray(data)) {
    throw new ImportFileError(`${source}: expected a JSON list of records, as manage.py dumpdata writes`)
  }
  const groups: DumpGroup[] = []
  const groupByPk = new Map<number, string>()
  const pending: { where: string; user: DumpUser; groupRefs: unknown[] }[] = []
  const ignored = new Map<string, number>()

  data.forEach((record: unknown, index) => {
    let where = `record ${index + 1}`
    try {
      if (!isObject(record) || typeof record['model'] !== 'string' || !isObject(record['fields'])) {
        fail('expected {"model": …, "fields": {…}}')
      }
      const model = record['model'].toLowerCase()
      const fields = record['fields']
      const recordPk = record['pk'] === undefined || record['pk'] === null ? null : pk(record['pk'], 'pk')
      if (model === 'auth.group') {
        const name = text(fields['name'], 'name', { max: 150, required: true }).trim()
        if (!name) fail('name: blank')
        where = `${where} (auth.group "${name}")`
        groups.push({ where, name, permissions: permissions(fields['permissions'], 'permissions') })
        if (recordPk !== null) {
          if (groupByPk.has(recordPk)) fail(`group id ${recordPk} appears again`)
          groupByPk.set(recordPk, name)
        }
      } else if (model === 'auth.user') {
        if (typeof fields['username'] === 'string') where = `${where} (auth.user "${fields['username']}")`
        const user: DumpUser = {
          where,
          pk: recordPk,
          username: username(fields['username']),
          password: text(fields['password'], 'password', { max: 256, required: true }),
          email: text(fields['email'], 'email', { max: 254 }),
          firstName: text(fields['first_name'], 'first_name', { max: 150 }),
          lastName: text(fields['last_name'], 'last_name', { max: 150 }),
          isActive: flag(fields['is_active'], 'is_active', true),
          isStaff: flag(fields['is_staff'], 'is_staff', false),
          isSuperuser: flag(fields['is_superuser'], 'is_superuser', false),
          dateJoined: timestamp(fields['date_joined'], 'date_joined'),
          lastLogin: timestamp(fields['last_login'], 'last_login'),
          groups: [],
          permissions: permissions(fields['user_permissions'], 'user_permissions'),
        }
        pending.push({ where, user, groupRefs: list(fields['groups'], 'groups') })
      } else {
        ignored.set(model, (ignored.get(model) ?? 0) + 1)
      }
    } catch (error) {
      if (error instanceof RecordError) throw new ImportFileError(`${source}: ${where}: ${error.message}`)
      throw error
    }
  })

  // Groups may come after the users that name them (dumpdata auth.user auth.group does that).
  const users = pending.map(({ where, user, groupRefs }) => {
    user.groups = groupRefs.map((ref) => {
      if (typeof ref === 'number') {
        const name = groupByPk.get(ref)
        if (name === undefined) {
          throw new ImportFileError(
            `${source}: ${where}: groups: group ${ref} is not in the file (dump auth.group too, or use --natural-foreign)`,
          )
        }
        return name
      }
      const name: unknown = Array.isArray(ref) && ref.length === 1 ? ref[0] : undefined
      if (typeof name === 'string' && name.trim() && name.trim().length <= 150) return name.trim()
      throw new ImportFileError(
        `${source}: ${where}: groups: expected group ids or natural keys such as ["HR"], got ${JSON.stringify(ref)}`,
      )
    })
    return user
  })
  try {
    checkUnique(users, groups)
  } catch (error) {
    if (error instanceof RecordError) throw new ImportFileError(`${source}: ${error.message}`)
    throw error
  }
  return { users, groups, ignored }
}

const CSV_COLUMNS = [
  'id',
  'password',
  'last_login',
  'is_superuser',
  'username',
  'first_name',
  'last_name',
  'email',
  'is_staff',
  'is_active',
  'date_joined',
  'groups',
] as const
type CsvColumn = (typeof CSV_COLUMNS)[number]

const TRUE = new Set(['true', 't', '1', 'yes', 'y'])
const FALSE = new Set(['false', 'f', '0', 'no', 'n'])

function csvFlag(value: string | undefined, name: string, fallback: boolean): boolean {
  const v = value?.trim().toLowerCase() ?? ''
  if (v === '') return fallback
  if (TRUE.has(v)) return true
  if (FALSE.has(v)) return false
  fail(`${name}: expected true or false, got ${JSON.stringify(value)}`)
}

function parseCsvDump(source: string, content: string): DjangoDump {
  let records
  try {
    records = parseCsv(content)
  } catch (error) {
    if (error instanceof CsvSyntaxError) throw new ImportFileError(`${source}: line ${error.line}: ${error.message}`)
    throw error
  }
  const [header, ...rows] = records
  if (!header) throw new ImportFileError(`${source}: the file is empty`)
  const columns = header.fields.map((name) => name.trim().toLowerCase())
  for (const [i, name] of columns.entries()) {
    if (!(CSV_COLUMNS as readonly string[]).includes(name)) {
      throw new ImportFileError(
        `${source}: line ${header.line}: unknown column "${name}" (auth_user's columns are ${CSV_COLUMNS.join(', ')})`,
      )
    }
    if (columns.indexOf(name) !== i)
      throw new ImportFileError(`${source}: line ${header.line}: column "${name}" appears twice`)
  }
  for (const required of ['username', 'password']) {
    if (!columns.includes(required)) {
      throw new ImportFileError(`${source}: line ${header.line}: the header has no "${required}" column`)
    }
  }
  const users: DumpUser[] = rows.map((row) => {
    const where = `line ${row.line}`
    try {
      if (row.fields.length !== columns.length) {
        fail(`expected ${columns.length} fields as in the header, got ${row.fields.length}`)
      }
      const get = (name: CsvColumn) => {
        const i = columns.indexOf(name)
        return i < 0 ? undefined : row.fields[i]
      }
      const id = get('id')?.trim()
      return {
        where,
        pk: id ? pk(/^\d+$/.test(id) ? Number(id) : id, 'id') : null,
        username: username(get('username')),
        password: text(get('password'), 'password', { max: 256, required: true }),
        email: text(get('email'), 'email', { max: 254 }),
        firstName: text(get('first_name'), 'first_name', { max: 150 }),
        lastName: text(get('last_name'), 'last_name', { max: 150 }),
        isActive: csvFlag(get('is_active'), 'is_active', true),
        isStaff: csvFlag(get('is_staff'), 'is_staff', false),
        isSuperuser: csvFlag(get('is_superuser'), 'is_superuser', false),
        dateJoined: timestamp(get('date_joined'), 'date_joined'),
        lastLogin: timestamp(get('last_login'), 'last_login'),
        groups: [
          ...new Set(
            (get('groups') ?? '')
              .split(';')
              .map((g) => g.trim())
              .filter(Boolean),
          ),
        ],
        permissions: [],
      }
    } catch (error) {
      if (error instanceof RecordError) throw new ImportFileError(`${source}: ${where}: ${error.message}`)
      throw error
    }
  })
  for (const user of users) {
    const long = user.groups.find((g) => g.length > 150)
    if (long) throw new ImportFileError(`${source}: ${user.where}: groups: "${long}" is longer than 150 characters`)
  }
  try {
    checkUnique(users, [])
  } catch (error) {
    if (error instanceof RecordError) throw new ImportFileError(`${source}: ${error.message}`)
    throw error
  }
  return { users, groups: [], ignored: new Map() }
}

/**
 * Parses a dump: JSON when the file starts with `[` or `{`, otherwise CSV with a header row.
 * Throws ImportFileError, one line naming `source` and the record or line, at the first problem.
 *
 * @example
 * const dump = parseDjangoDump(await readFile('users.json', 'utf8'), { source: 'users.json' })
 */
export function parseDjangoDump(content: string, opts: { source: string }): DjangoDump {
  const body = content.replace(/^\uFEFF/, '')
  const first = body.trimStart()[0]
  if (first === undefined) throw new ImportFileError(`${opts.source}: the file is empty`)
  return first === '[' || first === '{' ? parseJson(opts.source, body) : parseCsvDump(opts.source, body)
}
