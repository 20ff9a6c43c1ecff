/** Comma-separated list variables: trusted origins, authentication schemes, OAuth grants. */
import { normalizeTrustedOrigin } from '@gatehouse/auth'
import * as z from 'zod'

/** The built-in authentication schemes, in their default order (DRF's DEFAULT_AUTHENTICATION_CLASSES). */
export const BUILTIN_AUTH_SCHEMES = ['bearer', 'token', 'session', 'cookie', 'oauth'] as const

/** Django's CSRF_TRUSTED_ORIGINS: `https://app.example.com,https://*.example.com`, normalised. */
export const originList = z
  .string()
  .trim()
  .transform((value, ctx): readonly string[] => {
    const origins: string[] = []
    for (const entry of value.split(',')) {
      if (!entry.trim()) continue
      const origin = normalizeTrustedOrigin(entry)
      if (!origin) {
        const message = `expected comma-separated origins such as https://app.example.com or https://*.example.com; got "${entry.trim()}"`
        ctx.addIssue({ code: 'custom', message })
        return z.NEVER
      }
      origins.push(origin)
    }
    return Object.freeze(origins)
  })

/**
 * AUTH_SCHEMES: scheme names in the order they are tried. Only the syntax is checked here; names
 * are matched against the built-in and registered authenticators when the app starts.
 */
export const schemeList = z
  .string()
  .trim()
  .transform((value, ctx): readonly string[] => {
    const names = value.split(',').map((name) => name.trim().toLowerCase())
    const bad = names.find((name) => !/^[a-z][a-z0-9_-]*$/.test(name))
    const duplicate = names.find((name, i) => names.indexOf(name) !== i)
    if (bad !== undefined || duplicate !== undefined) {
      const why = bad !== undefined ? `"${bad}" is not a scheme name` : `"${duplicate}" is listed twice`
      ctx.addIssue({ code: 'custom', message: `expected comma-separated scheme names such as bearer,token; ${why}` })
      return z.NEVER
    }
    return Object.freeze(names)
  })

/** The grants the OAuth server can offer (OAUTH_GRANTS); a client is allowed a subset of them. */
export const OAUTH_GRANT_TYPES = ['authorization_code', 'client_credentials', 'refresh_token'] as const
export type OAuthGrantType = (typeof OAUTH_GRANT_TYPES)[number]

/** OAUTH_GRANTS: comma-separated grant types, each one of OAUTH_GRANT_TYPES. */
export const grantList = z
  .string()
  .trim()
  .transform((value, ctx): readonly OAuthGrantType[] => {
    const names = value
      .split(',')
      .map((name) => name.trim())
      .filter(Boolean)
    const bad = names.find((name) => !(OAUTH_GRANT_TYPES as readonly string[]).includes(name))
    if (bad !== undefined || names.length === 0) {
      const why = bad === undefined ? 'none given' : `"${bad}" is not one of them`
      ctx.addIssue({
        code: 'custom',
        message: `expected comma-separated grants from ${OAUTH_GRANT_TYPES.join(', ')}; ${why}`,
      })
      return z.NEVER
    }
    return Object.freeze([...new Set(names)] as OAuthGrantType[])
  })
