/**
 * Type tests for the OAuth helpers: checked by `tsc --noEmit -p packages/sdk` and vitest's
 * typecheck mode, never run.
 */
import { describe, expectTypeOf, it } from 'vitest'

import type { GatehouseClient, PkceTokens, ServiceClient } from '../src/index.js'
import { createPkceFlow, createServiceClient } from '../src/index.js'

describe('createServiceClient types', () => {
  it("has createGatehouseClient's procedures, and needs scopes", () => {
    const client = createServiceClient({ url: 'http://x', clientId: 'id', clientSecret: 's', scopes: 'read' })
    expectTypeOf(client).toEqualTypeOf<ServiceClient>()
    expectTypeOf(client).toExtend<GatehouseClient>()
    expectTypeOf(client.content.scoped).returns.resolves.toEqualTypeOf<{
      message: 'This is a scoped view'
      username: string
      oauth: { clientId: string; scopes: string[] } | null
    }>()
    expectTypeOf(client.accessToken).returns.resolves.toBeString()
    // @ts-expect-error -- scopes are required
    createServiceClient({ url: 'http://x', clientId: 'id', clientSecret: 's' })
  })

  it('the PKCE flow hands back camel-cased tokens', () => {
    const flow = createPkceFlow({ url: 'http://x', clientId: 'id', redirectUri: 'http://app/cb' })
    expectTypeOf(flow.handleRedirect).returns.resolves.toEqualTypeOf<PkceTokens>()
    expectTypeOf<PkceTokens['accessToken']>().toBeString()
    expectTypeOf<PkceTokens['refreshToken']>().toEqualTypeOf<string | undefined>()
  })
})
