/** The `gatehouse` commands for signing keys and the secrets stored encrypted. */
import type { SealCounts } from '@gatehouse/auth'

import { sealStoredSecrets, secretBoxFor } from '../../stored-secrets.js'
import type { Command } from './command.js'
import { parse } from './command.js'

export const rotatekeys: Command = {
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
}

export const encryptsecrets: Command = {
  usage: 'encryptsecrets',
  summary:
    'encrypt stored secrets still in clear, and re-encrypt under SECRET_KEY those a SECRET_KEY_FALLBACKS key encrypted',
  async run(args, ctx) {
    parse(args, { positionals: [] })
    const counts = await sealStoredSecrets(await ctx.db(), secretBoxFor(ctx.config), { reencrypt: true })
    const describe = (what: string, c: SealCounts) =>
      `${what}: ${c.encrypted} encrypted, ${c.reencrypted} re-encrypted under SECRET_KEY, ${c.unchanged} already under it.`
    return [describe('Signing keys', counts.signingKeys), describe('OAuth secrets', counts.oauthSecrets)].join('\n')
  },
}

export const retirekey: Command = {
  usage: 'retirekey KID',
  summary: 'retire a signing key: tokens it signed stop verifying (everywhere within KEY_REFRESH_INTERVAL)',
  async run(args, ctx) {
    const [kid = ''] = parse(args, { positionals: ['KID'] }).positionals
    await (await ctx.auth()).retireKey(kid)
    return `Signing key ${kid} retired; tokens it signed no longer verify.`
  },
}
