/**
 * Configuration: parsed once from the environment, validated, frozen, passed down. The only
 * module that reads process.env (the entry points hand it in).
 */
import { Env } from './config/schema.js'
import type { Config } from './config/to-config.js'
import { toConfig } from './config/to-config.js'

// The parsers, the schema and the mapping to Config are in config/; importers use this module.
export { BUILTIN_AUTH_SCHEMES, OAUTH_GRANT_TYPES, type OAuthGrantType } from './config/lists.js'
export { PERMISSION_NAMES, type PermissionName } from './config/schema.js'
export type { Config } from './config/to-config.js'

export class ConfigError extends Error {
  override readonly name = 'ConfigError'
  /** One line per bad variable, each naming it. */
  readonly lines: string[]
  constructor(lines: string[]) {
    super(lines.join('\n'))
    this.lines = lines
  }
}

/**
 * Parses the environment. Empty strings count as unset, as in a `.env` file with `X=`.
 * @example
 * const config = loadConfig({ PORT: '0', PASSWORD_HASH_COST: '4' })
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const relevant = Object.fromEntries(
    Object.keys(Env.shape).flatMap((key) => {
      const value = env[key]
      return value === undefined || value === '' ? [] : [[key, value]]
    }),
  )
  const parsed = Env.safeParse(relevant)
  if (!parsed.success) {
    const lines = new Map<string, string>()
    for (const issue of parsed.error.issues) {
      const name = String(issue.path[0] ?? 'environment')
      if (!lines.has(name)) lines.set(name, `${name}: ${issue.message}`)
    }
    throw new ConfigError([...lines.values()])
  }
  return Object.freeze(toConfig(parsed.data))
}
