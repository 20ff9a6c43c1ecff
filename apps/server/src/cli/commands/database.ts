/** The `gatehouse` commands that maintain the database: migrations, expired tokens, imported users. */
import { readFile } from 'node:fs/promises'

import { describeImport, importDjangoUsers, parseDjangoDump } from '@gatehouse/auth'

import type { Command } from './command.js'
import { parse } from './command.js'

export const migrate: Command = {
  usage: 'migrate',
  summary: 'apply pending database migrations',
  async run(args, ctx) {
    parse(args, { positionals: [] })
    const applied = await ctx.migrate()
    return applied.length === 0 ? 'No migrations to apply.' : `Applied: ${applied.join(', ')}`
  },
}

export const flushexpiredtokens: Command = {
  usage: 'flushexpiredtokens',
  summary: 'delete expired tokens (and their blacklist rows), sessions and API keys',
  async run(args, ctx) {
    parse(args, { positionals: [] })
    const { tokens, sessions, apiTokens } = await (await ctx.auth()).flushExpiredTokens()
    const n = (count: number, noun: string) => `${count} expired ${noun}${count === 1 ? '' : 's'}`
    return `Deleted ${n(tokens, 'token')}, ${n(sessions, 'session')} and ${n(apiTokens, 'API key')}.`
  },
}

export const importusers: Command = {
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
