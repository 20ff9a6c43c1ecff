/**
 * The SDK against a real server when the user's token epoch moves: after a role change it
 * refreshes once and carries on; after a password change or log out everywhere the stored tokens
 * are gone.
 */
import type { TestServer } from '@gatehouse/server/testing'
import { startTestServer } from '@gatehouse/server/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { createGatehouseClient, isGatehouseError, memoryStorage } from '../src/index.js'
import { rawQuery, recordingFetch } from './helpers/http.js'

let server: TestServer

beforeAll(async () => {
  server = await startTestServer()
})

afterAll(async () => {
  await server?.close()
})

async function loggedIn() {
  const { username, password } = await server.createUser()
  const storage = memoryStorage()
  const http = recordingFetch()
  const client = createGatehouseClient({ url: server.url, storage, fetch: http.fetch })
  await client.auth.login({ username, password })
  const tokens = await storage.get()
  if (!tokens) throw new Error('login stored no tokens')
  return { client, storage, http, username, tokens }
}

async function reasonOf(call: Promise<unknown>): Promise<unknown> {
  try {
    await call
    return 'resolved'
  } catch (error) {
    return isGatehouseError(error) ? error.data.reason : error
  }
}

describe('token epoch', () => {
  it('a role change: the revoked access token is refreshed once and the call goes through', async () => {
    const { client, storage, http, username, tokens } = await loggedIn()
    expect(await reasonOf(client.content.hr())).toBe('NOT_PERMITTED')
    await server.auth.addToGroup(username, 'HR')
    await server.auth.settle() // an out-of-band write reaches the auth cache by NOTIFY
    // The premise: the server now refuses the stored access token as revoked.
    const direct = await rawQuery(server.url, 'auth.me', { authorization: `Bearer ${tokens.access}` })
    expect(direct.body.error?.data).toMatchObject({ code: 'UNAUTHORIZED', reason: 'TOKEN_REVOKED' })

    http.requests.length = 0
    await expect(client.content.hr()).resolves.toEqual({ content: 'HR-only content' })
    expect(http.calls('auth.refresh')).toHaveLength(1)
    expect((await storage.get())?.access).not.toBe(tokens.access)
  })

  it('a password change: the refresh is refused too, the call fails as revoked, storage is cleared', async () => {
    const { client, storage, username } = await loggedIn()
    await server.auth.changePassword(username, 'An0ther-passphrase', { skipValidation: true })
    await server.auth.settle() // an out-of-band write reaches the auth cache by NOTIFY
    expect(await reasonOf(client.auth.me())).toBe('TOKEN_REVOKED')
    expect(await storage.get()).toBeNull()
  })

  it('auth.logoutAll answers its detail and clears storage', async () => {
    const { client, storage, tokens } = await loggedIn()
    await expect(client.auth.logoutAll()).resolves.toEqual({ detail: 'Logged out everywhere.' })
    expect(await storage.get()).toBeNull()
    const direct = await rawQuery(server.url, 'auth.me', { authorization: `Bearer ${tokens.access}` })
    expect(direct.body.error?.data).toMatchObject({ reason: 'TOKEN_REVOKED' })
  })
})
