/**
 * Where SECRET_KEY comes from when it is not set: DATA_DIR/secret_key, made once, private, the same
 * for every process that starts at the same moment.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { afterEach, describe, expect, it } from 'vitest'

import { ConfigError, loadConfig } from '../src/config.js'
import { readOrCreateKeyFile, resolveSecretKey } from '../src/secret-key.js'

describe('SECRET_KEY unset: the key file in DATA_DIR', () => {
  const dirs: string[] = []
  afterEach(async () => {
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
  })
  const tempDir = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gh-secret-key-'))
    dirs.push(dir)
    return dir
  }

  it('is made once, mode 0600, and every process starting at once reads the same key', async () => {
    const dataDir = join(await tempDir(), 'not-yet-made')
    const keys = await Promise.all(Array.from({ length: 8 }, () => readOrCreateKeyFile(dataDir)))
    expect(new Set(keys).size).toBe(1)
    expect(keys[0]).toMatch(/^[\w-]{43}$/)
    const file = join(dataDir, 'secret_key')
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    expect((await readFile(file, 'utf8')).trim()).toBe(keys[0])
    expect(await readOrCreateKeyFile(dataDir)).toBe(keys[0])
  })

  it('refuses a key file that holds no usable key, with one line naming SECRET_KEY', async () => {
    const dataDir = await tempDir()
    await writeFile(join(dataDir, 'secret_key'), 'too-short\n')
    const refused = readOrCreateKeyFile(dataDir)
    await expect(refused).rejects.toThrow(ConfigError)
    await expect(refused).rejects.toThrow(
      `SECRET_KEY: unset, and ${join(dataDir, 'secret_key')} holds no key of at least 32 characters (restore it, or set SECRET_KEY)`,
    )
  })

  it('SECRET_KEY wins; on Postgres without it the file is used with a warning', async () => {
    const dataDir = await tempDir()
    const given = 'a-long-and-varied-secret-key-0123456789'
    const set = await resolveSecretKey(loadConfig({ SECRET_KEY: given, DATA_DIR: dataDir }))
    expect(set).toMatchObject({ file: null, warning: null, config: { secretKey: given } })
    const embedded = await resolveSecretKey(loadConfig({ DATA_DIR: dataDir }))
    const file = join(dataDir, 'secret_key')
    expect(embedded).toMatchObject({ file, warning: null })
    const postgres = await resolveSecretKey(
      loadConfig({ DATA_DIR: dataDir, DATABASE_URL: 'postgres://db.example.com/x' }),
    )
    expect(postgres.config.secretKey).toBe(embedded.config.secretKey)
    expect(postgres.warning).toBe(
      `SECRET_KEY is unset: using the key in ${file}; set SECRET_KEY (and keep it apart from database backups) in production`,
    )
  })
})
