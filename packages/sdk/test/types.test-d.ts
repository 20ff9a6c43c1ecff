/**
 * Type tests: checked by `tsc --noEmit -p packages/sdk` and by vitest's typecheck mode, never run.
 */
import type {
  Action as ServerAction,
  Resource as ServerResource,
  AuthErrorCode as ServerAuthErrorCode,
  Subject as ServerSubject,
} from '@gatehouse/auth'
import type { WireReason } from '@gatehouse/server'
import type { AppRouter } from '@gatehouse/server'
import type { inferRouterError, inferRouterInputs, inferRouterOutputs } from '@trpc/server'
import type {
  AccessObject,
  Action,
  AuthErrorCode,
  CookieJar,
  DenialReason,
  GatehouseClient,
  GatehouseClientOptions,
  GatehouseErrorData,
  GatehouseErrorReason,
  GatehouseErrorShape,
  GatehouseInputs,
  GatehouseMode,
  GatehouseOutputs,
  GatehouseRouter,
  Resource,
  Subject,
  Tokens,
} from '../src/index.js'
import type { ProcedureKinds } from '../src/router.js'
import { describe, expectTypeOf, it } from 'vitest'

import { can, isDenied, isGatehouseError } from '../src/index.js'

declare const client: GatehouseClient

/** Every property name, at any depth, arrays included. */
type DeepKeys<T> = T extends readonly (infer TItem)[]
  ? DeepKeys<TItem>
  : T extends object
    ? { [K in keyof T & string]: K | DeepKeys<T[K]> }[keyof T & string]
    : never
type SecretKeys<T> = Extract<Lowercase<DeepKeys<T>>, `${string}${'password' | 'hash' | 'secret'}${string}`>

type Output<TFn> = TFn extends (...args: never[]) => Promise<infer TOut> ? TOut : never

describe('GatehouseRouter', () => {
  it('has the same inputs and outputs as the server AppRouter', () => {
    expectTypeOf<GatehouseInputs>().toEqualTypeOf<inferRouterInputs<AppRouter>>()
    expectTypeOf<GatehouseOutputs>().toEqualTypeOf<inferRouterOutputs<AppRouter>>()
  })

  it('has the same procedure kinds as the server AppRouter', () => {
    expectTypeOf<ProcedureKinds<GatehouseRouter>>().toEqualTypeOf<ProcedureKinds<AppRouter>>()
    expectTypeOf<ProcedureKinds<AppRouter>>().toEqualTypeOf<{
      'auth.register': 'mutation'
      'auth.login': 'mutation'
      'auth.refresh': 'mutation'
      'auth.logout': 'mutation'
      'auth.logoutAll': 'mutation'
      'auth.verify': 'mutation'
      'auth.me': 'query'
      'auth.catalogue': 'query'
      'auth.tokens.obtain': 'mutation'
      'auth.tokens.create': 'mutation'
      'auth.tokens.list': 'query'
      'auth.tokens.revoke': 'mutation'
      'auth.tokens.revokeAll': 'mutation'
      'auth.tokens.register': 'mutation'
      'auth.sliding.obtain': 'mutation'
      'auth.sliding.refresh': 'mutation'
      'auth.sliding.logout': 'mutation'
      'auth.session.login': 'mutation'
      'auth.session.logout': 'mutation'
      'auth.session.list': 'query'
      'auth.session.revoke': 'mutation'
      'auth.session.revokeOthers': 'mutation'
      'auth.apps.list': 'query'
      'auth.apps.revoke': 'mutation'
      'content.protected': 'query'
      'content.admin': 'query'
      'content.manager': 'query'
      'content.hr': 'query'
      'content.scoped': 'query'
      'articles.create': 'mutation'
      'articles.list': 'query'
      'articles.get': 'query'
      'articles.update': 'mutation'
      'articles.delete': 'mutation'
      'articles.share': 'mutation'
      'admin.users.list': 'query'
      'admin.users.get': 'query'
      'admin.users.update': 'mutation'
      'admin.users.activate': 'mutation'
      'admin.users.deactivate': 'mutation'
      'admin.users.setGroups': 'mutation'
      'admin.groups.list': 'query'
      'admin.groups.create': 'mutation'
      'admin.groups.delete': 'mutation'
      'admin.permissions.list': 'query'
      'admin.permissions.grant': 'mutation'
      'admin.permissions.revoke': 'mutation'
      'admin.audit.list': 'query'
      'admin.oauthClients.list': 'query'
      'admin.oauthClients.create': 'mutation'
      'admin.oauthClients.delete': 'mutation'
    }>()
  })

  it('describes every error the server formats', () => {
    type ServerShape = inferRouterError<AppRouter>
    expectTypeOf<ServerShape>().toExtend<GatehouseErrorShape>()
    expectTypeOf<NonNullable<ServerShape['data']['reason']>>().toExtend<GatehouseErrorReason>()
    expectTypeOf<ServerShape['data']['fieldErrors']>().toEqualTypeOf<GatehouseErrorData['fieldErrors']>()
  })

  it('copies AuthErrorCode from @gatehouse/auth exactly', () => {
    expectTypeOf<AuthErrorCode>().toEqualTypeOf<ServerAuthErrorCode>()
    expectTypeOf<GatehouseErrorReason>().toEqualTypeOf<WireReason>()
  })
})

describe('client procedures', () => {
  it('never expose a password or hash in a user', () => {
    // The check itself catches what it is meant to catch.
    expectTypeOf<SecretKeys<{ user: { passwordHash: string } }>>().toEqualTypeOf<'passwordhash'>()
    expectTypeOf<SecretKeys<{ users: { password: string }[] }>>().toEqualTypeOf<'password'>()

    expectTypeOf<SecretKeys<Output<typeof client.auth.login>>>().toBeNever()
    expectTypeOf<SecretKeys<Output<typeof client.auth.register>>>().toBeNever()
    expectTypeOf<SecretKeys<Output<typeof client.auth.me>>>().toBeNever()
    expectTypeOf<SecretKeys<Output<typeof client.admin.users.list>>>().toBeNever()
    expectTypeOf<SecretKeys<Output<typeof client.admin.users.get>>>().toBeNever()
    expectTypeOf<SecretKeys<Output<typeof client.admin.users.update>>>().toBeNever()
    expectTypeOf<Output<typeof client.auth.me>['user']>().toEqualTypeOf<{
      id: number
      username: string
      email: string
      isStaff: boolean
      isSuperuser: boolean
      groups: string[]
      dateJoined: string
    }>()
  })

  it('answer auth.me with the grants can() decides on', () => {
    expectTypeOf<Output<typeof client.auth.me>['permissions']>().toEqualTypeOf<readonly string[]>()
    expectTypeOf<Output<typeof client.auth.me>['objectPermissions']>().toEqualTypeOf<
      Readonly<Record<string, readonly Action[]>>
    >()
  })

  it('reach nested routers as plain functions', () => {
    expectTypeOf(client.articles.create).parameters.toEqualTypeOf<
      [{ title: string; body: string; published?: boolean | undefined }]
    >()
    expectTypeOf(client.articles.create).returns.resolves.toEqualTypeOf<{
      article: { id: number; title: string; body: string; published: boolean; authorId: number; createdAt: string }
    }>()
    expectTypeOf(client.articles.share).parameters.toEqualTypeOf<[{ id: number; username: string }]>()
    expectTypeOf(client.admin.groups.list).parameters.toEqualTypeOf<[]>()
    expectTypeOf(client.admin.users.list).parameter(0).toEqualTypeOf<GatehouseInputs['admin']['users']['list']>()
  })

  it('take no argument when the procedure has no input', () => {
    expectTypeOf(client.content.protected).parameters.toEqualTypeOf<[]>()
    expectTypeOf(client.content.admin).parameters.toEqualTypeOf<[]>()
    expectTypeOf(client.auth.me).parameters.toEqualTypeOf<[]>()
    expectTypeOf(client.content.protected).returns.resolves.toEqualTypeOf<{ message: 'This is a protected view' }>()
    expectTypeOf(client.content.hr).returns.resolves.toEqualTypeOf<{ content: 'HR-only content' }>()
  })

  it('take exactly the server input otherwise', () => {
    expectTypeOf(client.auth.login).parameters.toEqualTypeOf<
      [{ username: string; password: string; cookies?: boolean | undefined }]
    >()
    expectTypeOf(client.auth.register).parameters.toEqualTypeOf<
      [{ username: string; password: string; email?: string | undefined }]
    >()
    expectTypeOf(client.auth.verify).parameters.toEqualTypeOf<[{ token: string }]>()
    expectTypeOf(client.auth.login).returns.resolves.toExtend<Tokens>()
  })

  it('let refresh and logout fall back to the stored token', () => {
    expectTypeOf(client.auth.refresh).parameters.toEqualTypeOf<[input?: { refresh: string }]>()
    expectTypeOf(client.auth.refresh).returns.resolves.toEqualTypeOf<{ access: string; refresh: string }>()
    expectTypeOf(client.auth.logout).parameters.toEqualTypeOf<[input?: { refresh: string }]>()
    expectTypeOf(client.auth.logout).returns.resolves.toEqualTypeOf<{ detail: 'Successfully logged out.' }>()
  })

  it('let sliding refresh and logout fall back to the stored sliding token', () => {
    expectTypeOf(client.auth.sliding.obtain).parameters.toEqualTypeOf<[{ username: string; password: string }]>()
    expectTypeOf(client.auth.sliding.obtain).returns.resolves.toEqualTypeOf<{ token: string }>()
    expectTypeOf(client.auth.sliding.refresh).parameters.toEqualTypeOf<[input?: { token: string }]>()
    expectTypeOf(client.auth.sliding.refresh).returns.resolves.toEqualTypeOf<{ token: string }>()
    expectTypeOf(client.auth.sliding.logout).parameters.toEqualTypeOf<[input?: { token: string }]>()
    expectTypeOf(client.auth.sliding.logout).returns.resolves.toEqualTypeOf<{ detail: 'Successfully logged out.' }>()
    expectTypeOf(client.auth.logoutAll).parameters.toEqualTypeOf<[]>()
    expectTypeOf(client.auth.logoutAll).returns.resolves.toEqualTypeOf<{ detail: 'Logged out everywhere.' }>()
    expectTypeOf(client.auth.session.login).parameters.toEqualTypeOf<[{ username: string; password: string }]>()
    expectTypeOf(client.auth.session.logout).parameters.toEqualTypeOf<[]>()
  })

  it('take a mode, and a cookie jar', () => {
    expectTypeOf<GatehouseClientOptions['mode']>().toEqualTypeOf<GatehouseMode | undefined>()
    expectTypeOf<GatehouseMode>().toEqualTypeOf<'jwt' | 'cookie' | 'sliding'>()
    expectTypeOf<GatehouseClientOptions['cookies']>().toEqualTypeOf<CookieJar | undefined>()
  })

  it('refuse wrong inputs', () => {
    function wrongCalls() {
      // @ts-expect-error password is required
      void client.auth.login({ username: 'alice' })
      // @ts-expect-error password is a string
      void client.auth.login({ username: 'alice', password: 42 })
      // @ts-expect-error unknown field
      void client.auth.login({ username: 'alice', password: 'x', remember: true })
      // @ts-expect-error login needs an input
      void client.auth.login()
      // @ts-expect-error content.protected takes no input
      void client.content.protected({})
      // @ts-expect-error auth.me takes no input
      void client.auth.me(undefined)
      // @ts-expect-error verify takes { token }
      void client.auth.verify({ refresh: 'x' })
      // @ts-expect-error no such procedure
      void client.auth.whoami()
    }
    expectTypeOf(wrongCalls).toBeFunction()
  })

  it('expose the raw tRPC client with the same types', () => {
    expectTypeOf(client.trpc.auth.me.query).returns.resolves.toEqualTypeOf<GatehouseOutputs['auth']['me']>()
    expectTypeOf(client.trpc.auth.login.mutate)
      .parameter(0)
      .toEqualTypeOf<{ username: string; password: string; cookies?: boolean | undefined }>()
  })
})

describe('can', () => {
  it('copies the server rule types exactly', () => {
    expectTypeOf<Action>().toEqualTypeOf<ServerAction>()
    expectTypeOf<Resource>().toEqualTypeOf<ServerResource>()
    expectTypeOf<Subject>().toEqualTypeOf<ServerSubject>()
    expectTypeOf<Action>().toEqualTypeOf<'view' | 'add' | 'change' | 'delete'>()
    expectTypeOf<Resource>().toEqualTypeOf<'user' | 'group' | 'permission' | 'auditevent' | 'article'>()
  })

  it('takes an action, a catalogued resource and an object the server returned', () => {
    expectTypeOf(client.can).parameters.toEqualTypeOf<[action: Action, resource: Resource, object?: AccessObject]>()
    expectTypeOf(client.can).returns.toEqualTypeOf<boolean>()
    expectTypeOf<GatehouseOutputs['articles']['get']['article']>().toExtend<AccessObject>()
    expectTypeOf(client.loadPermissions).returns.resolves.toEqualTypeOf<Subject>()
    expectTypeOf(can).parameters.toEqualTypeOf<
      [subject: Subject, action: Action, resource: Resource, object?: AccessObject]
    >()
  })

  it('refuses actions and resources outside the catalogue', () => {
    function wrongCalls() {
      // @ts-expect-error no such action
      client.can('publish', 'article')
      // @ts-expect-error no such resource
      client.can('view', 'comment')
      // @ts-expect-error an object needs an id
      client.can('view', 'article', { published: true })
    }
    expectTypeOf(wrongCalls).toBeFunction()
  })
})

describe('isDenied', () => {
  it('narrows the reason to the three denials', () => {
    const error: unknown = new Error('x')
    if (isDenied(error)) {
      expectTypeOf(error.data.reason).toEqualTypeOf<DenialReason>()
      expectTypeOf(error.data.httpStatus).toEqualTypeOf<number>()
    }
    expectTypeOf<DenialReason>().toEqualTypeOf<'NOT_AUTHENTICATED' | 'NOT_PERMITTED' | 'THROTTLED'>()
  })
})

describe('isGatehouseError', () => {
  it('narrows to an error whose data carries the reason codes', () => {
    const error: unknown = new Error('x')
    if (isGatehouseError(error)) {
      expectTypeOf(error.data.reason).toEqualTypeOf<GatehouseErrorReason | undefined>()
      expectTypeOf(error.data.fieldErrors).toEqualTypeOf<Record<string, string[]> | undefined>()
      expectTypeOf(error.data.httpStatus).toEqualTypeOf<number>()
      expectTypeOf(error.data.code).toEqualTypeOf<GatehouseErrorData['code']>()
      expectTypeOf(error.message).toEqualTypeOf<string>()
    }
    expectTypeOf<'TOKEN_EXPIRED'>().toExtend<GatehouseErrorReason>()
    expectTypeOf<'PAYLOAD_TOO_LARGE'>().toExtend<GatehouseErrorReason>()
    expectTypeOf<'THROTTLED'>().toExtend<GatehouseErrorReason>()
    expectTypeOf<'SOMETHING_ELSE'>().not.toExtend<GatehouseErrorReason>()
  })
})
