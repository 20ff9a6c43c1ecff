/**
 * The `gatehouse` commands. Each takes parsed arguments and a way to reach the auth service, and
 * returns the line to print; a bad argument is a UsageError, a refused operation an AuthError.
 */
import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'

import type { AuthError, AuthService, SealCounts } from '@gatehouse/auth'
import { admin, describeImport, importDjangoUsers, parseDjangoDump } from '@gatehouse/auth'
import type { Db } from '@gatehouse/db'

import { BUILTIN_AUTH_SCHEMES } from '../config.js'
import type { ConfigWithSecretKey } from '../secret-key.js'
import { sealStoredSecrets, secretBoxFor } from '../stored-secrets.js'

export class UsageError extends Error {
  override readonly name = 'UsageError'
}

export interface CommandContext {
  /** With the secret key resolved (SECRET_KEY, or DATA_DIR/secret_key as the server takes it). */
  config: ConfigWithSecretKey
  /** Opens the database (migrated) and the auth service on first use. */
  auth(): Promise<AuthService>
  /** Opens the database (migrated) without the auth service, which would touch stored keys first. */
  db(): Promise<Db>
  migrate(): Promise<string[]>
  /** A password from the terminal (asked twice, no echo) or the first line of a piped stdin. */
  readPassword(): Promise<string>
}

interface Command {
  usage: string
  summary: string
  run(args: string[], ctx: CommandContext): Promise<string>
}

function parse(args: string[], spec: { positionals: string[]; options?: Record<string, { type: 'string' | 'boolean' }> }) {
  let parsed
  try {
    parsed = parseArgs({ args, options: spec.options ?? {}, allowPositionals: true, strict: true })
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0] ?? 'bad arguments')
  }
  if (parsed.positionals.length !== spec.positionals.length) {
    const expected = spec.positionals.length === 0 ? 'no arguments' : spec.positionals.join(' ')
    throw new UsageError(`expected ${expected}, got ${parsed.positionals.length === 0 ? 'none' : parsed.positionals.join(' ')}`)
  }
  return { positionals: parsed.positionals, values: parsed.values as Record<string, string | boolean | undefined> }
}

function requireOption(values: Record<string, string | boolean | undefined>, name: string): string {
  const value = values[name]
  if (typeof value !== 'string' || value.length === 0) throw new UsageError(`--${name} is required`)
  return value
}

/**
 * `--password` when given (visible to every local user in `ps`: for scripts that cannot pipe),
 * else typed at the prompt or piped on stdin.
 */
async function passwordOf(values: Record<string, string | boolean | undefined>, ctx: CommandContext): Promise<string> {
  const given = values['password']
  if (typeof given === 'string' && given.length > 0) return given
  try {
    return await ctx.readPassword()
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err)
    throw new UsageError(`--password is required (type it at the prompt or pipe it on stdin): ${why}`)
  }
}

function describeFieldErrors(err: AuthError): string {
  if (!err.fieldErrors) return err.message
  return Object.entries(err.fieldErrors)
    .map(([field, messages]) => `${field}: ${messages.join(' ')}`)
    .join('; ')
}

export { describeFieldErrors }

export const COMMANDS: Record<string, Command> = {
  migrate: {
    usage: 'migrate',
    summary: 'apply pending database migrations',
    async run(args, ctx) {
      parse(args, { positionals: [] })
      const applied = await ctx.migrate()
      return applied.length === 0 ? 'No migrations to apply.' : `Applied: ${applied.join(', ')}`
    },
  },
  createsuperuser: {
    usage: 'createsuperuser --username U --email E [--password P] [--skip-validation]',
    summary: 'create a staff superuser',
    async run(args, ctx) {
      const { values } = parse(args, {
        positionals: [],
        options: {
          username: { type: 'string' },
          email: { type: 'string' },
          password: { type: 'string' },
          'skip-validation': { type: 'boolean' },
        },
      })
      const username = requireOption(values, 'username')
      const password = await passwordOf(values, ctx)
      const email = typeof values['email'] === 'string' ? values['email'] : ''
      if (email && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) throw new UsageError(`--email: Enter a valid email address.`)
      const auth = await ctx.auth()
      await auth.createUser({
        username,
        password,
        email,
        isStaff: true,
        isSuperuser: true,
        skipValidation: values['skip-validation'] === true,
      })
      return 'Superuser created successfully.'
    },
  },
  creategroup: {
    usage: 'creategroup NAME',
    summary: 'create a group (no-op if it exists)',
    async run(args, ctx) {
      const { positionals } = parse(args, { positionals: ['NAME'] })
      const { group, created } = await (await ctx.auth()).createGroup(positionals[0] ?? '')
      return created ? `Group "${group.name}" created.` : `Group "${group.name}" already exists.`
    },
  },
  addtogroup: {
    usage: 'addtogroup USERNAME GROUP',
    summary: 'add a user to a group',
    async run(args, ctx) {
      const [username = '', group = ''] = parse(args, { positionals: ['USERNAME', 'GROUP'] }).positionals
      const added = await (await ctx.auth()).addToGroup(username, group)
      return added ? `Added ${username} to ${group}.` : `${username} is already in ${group}.`
    },
  },
  removefromgroup: {
    usage: 'removefromgroup USERNAME GROUP',
    summary: 'remove a user from a group',
    async run(args, ctx) {
      const [username = '', group = ''] = parse(args, { positionals: ['USERNAME', 'GROUP'] }).positionals
      const removed = await (await ctx.auth()).removeFromGroup(username, group)
      return removed ? `Removed ${username} from ${group}.` : `${username} was not in ${group}.`
    },
  },
  changepassword: {
    usage: 'changepassword USERNAME [--password P] [--skip-validation]',
    summary: "set a user's password (ends their access, refresh and sliding tokens)",
    async run(args, ctx) {
      const { positionals, values } = parse(args, {
        positionals: ['USERNAME'],
        options: { password: { type: 'string' }, 'skip-validation': { type: 'boolean' } },
      })
      const username = positionals[0] ?? ''
      const password = await passwordOf(values, ctx)
      await (await ctx.auth()).changePassword(username, password, {
        skipValidation: values['skip-validation'] === true,
        via: 'cli',
      })
      return `Password changed successfully for user '${username}'.`
    },
  },
  flushexpiredtokens: {
    usage: 'flushexpiredtokens',
    summary: 'delete expired tokens (and their blacklist rows), sessions and API keys',
    async run(args, ctx) {
      parse(args, { positionals: [] })
      const { tokens, sessions, apiTokens } = await (await ctx.auth()).flushExpiredTokens()
      const n = (count: number, noun: string) => `${count} expired ${noun}${count === 1 ? '' : 's'}`
      return `Deleted ${n(tokens, 'token')}, ${n(sessions, 'session')} and ${n(apiTokens, 'API key')}.`
    },
  },
  rotatekeys: {
    usage: 'rotatekeys',
    summary: 'add a new signing key: published at once, signing after KEY_ACTIVATION_DELAY; older keys keep verifying',
    async run(args, ctx) {
      parse(args, { positionals: [] })
      const kid = await (await ctx.auth()).rotateKeys()
      const delay = ctx.config.keyActivationDelaySeconds
      if (delay === 0) return `New signing key ${kid} is now used to sign; older keys still verify.`
      const from = new Date(Date.now() + delay * 1000).toISOString()
      return `New signing key ${kid} is published now and signs from ${from} (KEY_ACTIVATION_DELAY); older keys still verify.`
    },
  },
  encryptsecrets: {
    usage: 'encryptsecrets',
    summary: 'encrypt stored secrets still in clear, and re-encrypt under SECRET_KEY those a SECRET_KEY_FALLBACKS key encrypted',
    async run(args, ctx) {
      parse(args, { positionals: [] })
      const counts = await sealStoredSecrets(await ctx.db(), secretBoxFor(ctx.config), { reencrypt: true })
      const describe = (what: string, c: SealCounts) =>
        `${what}: ${c.encrypted} encrypted, ${c.reencrypted} re-encrypted under SECRET_KEY, ${c.unchanged} already under it.`
      return [describe('Signing keys', counts.signingKeys), describe('OAuth secrets', counts.oauthSecrets)].join('\n')
    },
  },
  retirekey: {
    usage: 'retirekey KID',
    summary: 'retire a signing key: tokens it signed stop verifying (everywhere within KEY_REFRESH_INTERVAL)',
    async run(args, ctx) {
      const [kid = ''] = parse(args, { positionals: ['KID'] }).positionals
      await (await ctx.auth()).retireKey(kid)
      return `Signing key ${kid} retired; tokens it signed no longer verify.`
    },
  },
}

function grantCommand(verb: 'grant' | 'revoke'): Command {
  const run = verb === 'grant' ? admin.grantPermission : admin.revokePermission
  return {
    usage: `${verb} USERNAME CODENAME | ${verb} --group GROUP CODENAME`,
    summary: verb === 'grant' ? 'give a user or a group a permission' : "take a permission from a user or a group",
    async run(args, ctx) {
      const { positionals, values } = parse(args, {
        positionals: args.some((a) => a === '--group' || a.startsWith('--group=')) ? ['CODENAME'] : ['USERNAME', 'CODENAME'],
        options: { group: { type: 'string' } },
      })
      const group = typeof values['group'] === 'string' ? values['group'] : undefined
      const codename = positionals.at(-1) ?? ''
      const target = group ? { group } : { username: positionals[0] ?? '' }
      const who = group ? `group ${group}` : (positionals[0] ?? '')
      const changed = await run((await ctx.auth()).db, { ...target, codename })
      if (verb === 'grant') return changed ? `Granted ${codename} to ${who}.` : `${who} already has ${codename}.`
      return changed ? `Revoked ${codename} from ${who}.` : `${who} did not have ${codename}.`
    },
  }
}

function activationCommand(active: boolean): Command {
  const verb = active ? 'activate' : 'deactivate'
  return {
    usage: `${verb} USERNAME`,
    summary: active ? 'let a user log in again' : 'stop a user at their next request and end all their tokens',
    async run(args, ctx) {
      const [username = ''] = parse(args, { positionals: ['USERNAME'] }).positionals
      await admin.setUserActiveByName((await ctx.auth()).db, username, active)
      return `User ${username} ${active ? 'activated' : 'deactivated'}.`
    },
  }
}

COMMANDS['grant'] = grantCommand('grant')
COMMANDS['revoke'] = grantCommand('revoke')
COMMANDS['activate'] = activationCommand(true)
COMMANDS['deactivate'] = activationCommand(false)
COMMANDS['listusers'] = {
  usage: 'listusers [--search TEXT]',
  summary: 'list users with their flags and groups',
  async run(args, ctx) {
    const { values } = parse(args, { positionals: [], options: { search: { type: 'string' } } })
    const db = (await ctx.auth()).db
    const lines: string[] = []
    let cursor: number | undefined
    for (;;) {
      const search = typeof values['search'] === 'string' ? values['search'] : undefined
      const page = await admin.listUsers(db, { search, cursor, limit: 100 })
      for (const u of page.items) {
        const flags = [u.isActive ? 'active' : 'inactive', u.isStaff && 'staff', u.isSuperuser && 'superuser']
          .filter(Boolean)
          .join(',')
        lines.push(`${u.id}\t${u.username}\t${u.email}\t${flags}\t${u.groups.join(',')}`)
      }
      if (page.nextCursor === null) break
      cursor = page.nextCursor
    }
    return lines.length > 0 ? ['id\tusername\temail\tflags\tgroups', ...lines].join('\n') : 'No users.'
  },
}

COMMANDS['importusers'] = {
  usage: 'importusers FILE',
  summary: "import users and groups from Django's dumpdata JSON or an auth_user CSV, all or nothing",
  async run(args, ctx) {
    const [file = ''] = parse(args, { positionals: ['FILE'] }).positionals
    const content = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
      const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EISDIR' ? 'it is a folder' : err.message
      throw new Error(`cannot read ${file}: ${why}`)
    })
    const dump = parseDjangoDump(content, { source: file })
    return describeImport(await importDjangoUsers((await ctx.auth()).db, dump))
  },
}

COMMANDS['postman'] = {
  usage: 'postman [--out DIR] [--base-url URL]',
  summary: 'write a Postman collection and environment generated from the OpenAPI document',
  async run(args, ctx) {
    const { values } = parse(args, {
      positionals: [],
      options: { out: { type: 'string' }, 'base-url': { type: 'string' } },
    })
    const out = typeof values['out'] === 'string' ? values['out'] : 'postman'
    const baseUrl =
      typeof values['base-url'] === 'string' ? values['base-url'] : `http://localhost:${ctx.config.port || 3000}`
    // Loaded here, not at the top: the document needs the router, which the other commands do not.
    const { buildOpenApiDocument } = await import('../rest/openapi.js')
    const { buildPostman, writePostman } = await import('../rest/postman.js')
    const doc = buildOpenApiDocument({ authSchemes: ctx.config.authSchemes ?? BUILTIN_AUTH_SCHEMES })
    const paths = await writePostman(out, buildPostman(doc, { baseUrl }))
    return `Wrote ${paths.join(' and ')}.`
  },
}

COMMANDS['createclient'] = {
  usage:
    'createclient --name N --grants G1,G2 [--redirect-uri URI]... --scopes "read write" [--public] [--resource-server] [--json]',
  summary: 'register an OAuth client; its secret is shown this once (--json: only {"clientId","clientSecret"})',
  async run(args, ctx) {
    let parsed
    try {
      parsed = parseArgs({
        args,
        options: {
          name: { type: 'string' },
          grants: { type: 'string' },
          'redirect-uri': { type: 'string', multiple: true },
          scopes: { type: 'string' },
          public: { type: 'boolean' },
          'resource-server': { type: 'boolean' },
          json: { type: 'boolean' },
        },
        allowPositionals: false,
        strict: true,
      })
    } catch (err) {
      throw new UsageError((err as Error).message.split('\n')[0] ?? 'bad arguments')
    }
    const { values } = parsed
    const single = { name: values.name, grants: values.grants, scopes: values.scopes }
    const name = requireOption(single, 'name')
    const grants = requireOption(single, 'grants').split(',')
    const scopes = requireOption(single, 'scopes')
    const { createOAuthClient } = await import('../oauth-core/clients.js')
    const db = (await ctx.auth()).db
    const { client, clientSecret } = await createOAuthClient(
      db,
      {
        name,
        grants,
        redirectUris: values['redirect-uri'] ?? [],
        scopes,
        public: values.public === true,
        resourceServer: values['resource-server'] === true,
      },
      ctx.config.oauthGrants,
    )
    if (values.json === true) return JSON.stringify({ clientId: client.clientId, clientSecret })
    const lines = [`Client "${client.name}" created.`, `client_id: ${client.clientId}`]
    if (clientSecret !== null) {
      lines.push(`client_secret: ${clientSecret}`, 'The secret is shown only now; store it safely.')
    }
    else lines.push('Public client: no secret; it must use PKCE (S256).')
    if (client.resourceServer) lines.push('Resource server: it may introspect any token.')
    if (client.serviceUser) {
      lines.push(
        `client_credentials tokens act as user "${client.serviceUser.username}": grant it permissions as any user.`,
      )
    }
    return lines.join('\n')
  },
}

COMMANDS['listclients'] = {
  usage: 'listclients',
  summary: 'list OAuth clients (never their secrets)',
  async run(args, ctx) {
    parse(args, { positionals: [] })
    const { listOAuthClients } = await import('../oauth-core/clients.js')
    const clients = await listOAuthClients((await ctx.auth()).db)
    if (clients.length === 0) return 'No clients.'
    const rows = clients.map((c) =>
      [
        c.clientId,
        c.name,
        c.public ? 'public' : 'confidential',
        c.resourceServer ? 'yes' : 'no',
        c.grants.join(','),
        c.scopes,
        c.redirectUris.join(','),
      ].join('\t'),
    )
    return ['client_id\tname\ttype\tresource_server\tgrants\tscopes\tredirect_uris', ...rows].join('\n')
  },
}

COMMANDS['deleteclient'] = {
  usage: 'deleteclient ID',
  summary: 'delete an OAuth client, everything issued to it and its service user',
  async run(args, ctx) {
    const [clientId = ''] = parse(args, { positionals: ['ID'] }).positionals
    const { deleteOAuthClient } = await import('../oauth-core/clients.js')
    await deleteOAuthClient((await ctx.auth()).db, clientId)
    return `Client ${clientId} deleted; its tokens no longer work.`
  },
}

export function helpText(): string {
  const width = Math.max(...Object.values(COMMANDS).map((c) => c.usage.length))
  return [
    'usage: gatehouse <command> [arguments]',
    '',
    ...Object.values(COMMANDS).map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`),
  ].join('\n')
}
