/** The `gatehouse` commands that register, list and delete OAuth clients. */
import { parseArgs } from 'node:util'

import type { Command } from './command.js'
import { parse, requireOption, UsageError } from './command.js'

export const createclient: Command = {
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
    const { createOAuthClient } = await import('../../oauth-core/clients.js')
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
    } else lines.push('Public client: no secret; it must use PKCE (S256).')
    if (client.resourceServer) lines.push('Resource server: it may introspect any token.')
    if (client.serviceUser) {
      lines.push(
        `client_credentials tokens act as user "${client.serviceUser.username}": grant it permissions as any user.`,
      )
    }
    return lines.join('\n')
  },
}

export const listclients: Command = {
  usage: 'listclients',
  summary: 'list OAuth clients (never their secrets)',
  async run(args, ctx) {
    parse(args, { positionals: [] })
    const { listOAuthClients } = await import('../../oauth-core/clients.js')
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

export const deleteclient: Command = {
  usage: 'deleteclient ID',
  summary: 'delete an OAuth client, everything issued to it and its service user',
  async run(args, ctx) {
    const [clientId = ''] = parse(args, { positionals: ['ID'] }).positionals
    const { deleteOAuthClient } = await import('../../oauth-core/clients.js')
    await deleteOAuthClient((await ctx.auth()).db, clientId)
    return `Client ${clientId} deleted; its tokens no longer work.`
  },
}
