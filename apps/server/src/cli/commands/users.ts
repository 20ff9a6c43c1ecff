/** The `gatehouse` commands for users, groups and permissions. */
import { admin } from '@gatehouse/auth'

import type { Command } from './command.js'
import { parse, passwordOf, requireOption, UsageError } from './command.js'

export const createsuperuser: Command = {
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
    if (email && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email))
      throw new UsageError(`--email: Enter a valid email address.`)
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
}

export const creategroup: Command = {
  usage: 'creategroup NAME',
  summary: 'create a group (no-op if it exists)',
  async run(args, ctx) {
    const { positionals } = parse(args, { positionals: ['NAME'] })
    const { group, created } = await (await ctx.auth()).createGroup(positionals[0] ?? '')
    return created ? `Group "${group.name}" created.` : `Group "${group.name}" already exists.`
  },
}

export const addtogroup: Command = {
  usage: 'addtogroup USERNAME GROUP',
  summary: 'add a user to a group',
  async run(args, ctx) {
    const [username = '', group = ''] = parse(args, { positionals: ['USERNAME', 'GROUP'] }).positionals
    const added = await (await ctx.auth()).addToGroup(username, group)
    return added ? `Added ${username} to ${group}.` : `${username} is already in ${group}.`
  },
}

export const removefromgroup: Command = {
  usage: 'removefromgroup USERNAME GROUP',
  summary: 'remove a user from a group',
  async run(args, ctx) {
    const [username = '', group = ''] = parse(args, { positionals: ['USERNAME', 'GROUP'] }).positionals
    const removed = await (await ctx.auth()).removeFromGroup(username, group)
    return removed ? `Removed ${username} from ${group}.` : `${username} was not in ${group}.`
  },
}

export const changepassword: Command = {
  usage: 'changepassword USERNAME [--password P] [--skip-validation]',
  summary: "set a user's password (ends their access, refresh and sliding tokens)",
  async run(args, ctx) {
    const { positionals, values } = parse(args, {
      positionals: ['USERNAME'],
      options: { password: { type: 'string' }, 'skip-validation': { type: 'boolean' } },
    })
    const username = positionals[0] ?? ''
    const password = await passwordOf(values, ctx)
    await (
      await ctx.auth()
    ).changePassword(username, password, {
      skipValidation: values['skip-validation'] === true,
      via: 'cli',
    })
    return `Password changed successfully for user '${username}'.`
  },
}

export function grantCommand(verb: 'grant' | 'revoke'): Command {
  const run = verb === 'grant' ? admin.grantPermission : admin.revokePermission
  return {
    usage: `${verb} USERNAME CODENAME | ${verb} --group GROUP CODENAME`,
    summary: verb === 'grant' ? 'give a user or a group a permission' : 'take a permission from a user or a group',
    async run(args, ctx) {
      const { positionals, values } = parse(args, {
        positionals: args.some((a) => a === '--group' || a.startsWith('--group='))
          ? ['CODENAME']
          : ['USERNAME', 'CODENAME'],
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

export function activationCommand(active: boolean): Command {
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

export const listusers: Command = {
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
