/**
 * Where the server's secret key comes from:
 *
 * 1. SECRET_KEY, when set (with DATABASE_URL and NODE_ENV=production it must be: config.ts refuses
 *    to start without it).
 * 2. Otherwise the file `DATA_DIR/secret_key`, made on the first start: 32 random bytes (base64url),
 *    mode 0600. With the embedded database the key then sits beside the data it protects, which is
 *    what `pnpm start` needs to work with nothing set; on Postgres (a developer's, NODE_ENV not
 *    production) the same file is used and a warning says so, because a backup of the database
 *    then holds no key but the server's disk does.
 *
 * Processes starting together agree on one key: the file is written whole under a temporary name
 * and linked into place, which fails for all but the first (never a half-written key to read).
 */
import { randomBytes } from 'node:crypto'
import { link, readFile, unlink, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'

import type { SecretKeyError } from '@gatehouse/auth'
import { MIN_SECRET_KEY_LENGTH } from '@gatehouse/auth'
import { openDataDir } from '@gatehouse/db'

import type { Config } from './config.js'
import { ConfigError } from './config.js'

export const SECRET_KEY_FILE = 'secret_key'

/** A config whose secret key is known. */
export type ConfigWithSecretKey = Config & { readonly secretKey: string }

export interface ResolvedSecretKey {
  config: ConfigWithSecretKey
  /** The file the key came from; null when SECRET_KEY was set. */
  file: string | null
  /** One line for the operator, or null. */
  warning: string | null
}

async function readKeyFile(file: string): Promise<string | null> {
  try {
    return (await readFile(file, 'utf8')).trim()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw err
  }
}

/**
 * Reads DATA_DIR/secret_key, making it first if there is none. DATA_DIR is checked first (ours,
 * 0700): a key in a folder others can write could be theirs.
 */
export async function readOrCreateKeyFile(dataDir: string): Promise<string> {
  await openDataDir(resolve(dataDir))
  const file = join(resolve(dataDir), SECRET_KEY_FILE)
  let key = await readKeyFile(file)
  if (key === null) {
    const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`
    await writeFile(temp, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' })
    try {
      await link(temp, file)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err // another process made it first: theirs it is
    } finally {
      await unlink(temp).catch(() => undefined)
    }
    key = (await readKeyFile(file)) ?? ''
  }
  if (key.length < MIN_SECRET_KEY_LENGTH) {
    throw new ConfigError([
      `SECRET_KEY: unset, and ${file} holds no key of at least ${MIN_SECRET_KEY_LENGTH} characters (restore it, or set SECRET_KEY)`,
    ])
  }
  return key
}

/**
 * The config with its secret key: SECRET_KEY, or the key file in DATA_DIR (see the rule above).
 * @example
 * const { config, warning } = await resolveSecretKey(loadConfig(process.env))
 */
export async function resolveSecretKey(config: Config): Promise<ResolvedSecretKey> {
  if (config.secretKey !== undefined) return { config: config as ConfigWithSecretKey, file: null, warning: null }
  const key = await readOrCreateKeyFile(config.dataDir)
  const file = join(resolve(config.dataDir), SECRET_KEY_FILE)
  const warning = config.databaseUrl
    ? `SECRET_KEY is unset: using the key in ${file}; set SECRET_KEY (and keep it apart from database backups) in production`
    : null
  return { config: Object.freeze({ ...config, secretKey: key }), file, warning }
}

/** The one line for stored secrets that SECRET_KEY does not open (the key itself never appears). */
export function secretKeyErrorLine(err: SecretKeyError): string {
  return `SECRET_KEY: ${err.message}; set the SECRET_KEY it was encrypted under, or list that key in SECRET_KEY_FALLBACKS`
}
