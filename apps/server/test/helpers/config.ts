import { ConfigError, loadConfig } from '../../src/config.js'

/** The one-line errors loadConfig gives for `env`; fails the test if it accepts it. */
export function configErrorLines(env: Record<string, string>): string[] {
  try {
    loadConfig(env)
  } catch (err) {
    if (err instanceof ConfigError) return err.lines
    throw err
  }
  throw new Error('expected a ConfigError')
}
