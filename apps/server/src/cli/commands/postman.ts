/** `gatehouse postman`: the REST facade as a Postman collection, for trying it by hand. */
import { BUILTIN_AUTH_SCHEMES } from '../../config.js'
import type { Command } from './command.js'
import { parse } from './command.js'

export const postman: Command = {
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
    const { buildOpenApiDocument } = await import('../../rest/openapi.js')
    const { buildPostman, writePostman } = await import('../../rest/postman.js')
    const doc = buildOpenApiDocument({ authSchemes: ctx.config.authSchemes ?? BUILTIN_AUTH_SCHEMES })
    const paths = await writePostman(out, buildPostman(doc, { baseUrl }))
    return `Wrote ${paths.join(' and ')}.`
  },
}
