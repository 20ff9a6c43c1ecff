/**
 * The access rules of every catalogued resource, as data, and the one function that applies them.
 *
 * This file has no imports on purpose: the SDK ships a byte-identical copy
 * (packages/sdk/src/internal/decide.ts, kept equal by a test), so a front end's `can()` and the
 * server's checks are computed by the same code from the same catalogue.
 */

export const ACTIONS = ['view', 'add', 'change', 'delete'] as const
export type Action = (typeof ACTIONS)[number]

export interface ResourceRules {
  /** Actions anyone may take, anonymous included; on an object only when `object[when]` is true. */
  readonly public?: { readonly actions: readonly Action[]; readonly when?: string }
  /** Actions any authenticated user may take on the resource as a whole (e.g. create). */
  readonly authenticated?: readonly Action[]
  /** The field naming an object's owner, and what the owner may do with it. */
  readonly owner?: { readonly field: string; readonly actions: readonly Action[] }
}

/** Resources and their rules, declared once. Model permissions are `<action>_<resource>`. */
export const CATALOGUE = {
  user: {},
  group: {},
  permission: {},
  /** The audit log (admin.audit.list); only `view_auditevent` exists: the server alone writes it. */
  auditevent: {},
  article: {
    public: { actions: ['view'], when: 'published' },
    authenticated: ['add'],
    owner: { field: 'authorId', actions: ['view', 'change', 'delete'] },
  },
} as const satisfies Record<string, ResourceRules>

export type Resource = keyof typeof CATALOGUE
export const RESOURCES = Object.keys(CATALOGUE) as Resource[]

/** Who is asking, as far as the rules care. */
export interface Subject {
  userId: number | null
  isSuperuser: boolean
  /** Effective model permissions (own and through groups), e.g. `change_article`. */
  permissions: readonly string[]
  /** Per-object grants, keyed `<resource>:<id>`, e.g. `{ 'article:12': ['change'] }`. */
  objectPermissions: Readonly<Record<string, readonly Action[]>>
}

export type AccessObject = { readonly id: number | string } & Readonly<Record<string, unknown>>

export function codename(action: Action, resource: string): string {
  return `${action}_${resource}`
}

/**
 * May `subject` take `action` on `resource` — on the resource as a whole, or on one object?
 * A superuser may do anything; otherwise any rule that allows is enough.
 *
 * @example
 * can(subject, 'change', 'article', { id: 3, authorId: 7, published: false })
 */
// eslint-disable-next-line max-params -- reads as the question it answers: can(who, do what, to what, which one)
export function can(subject: Subject, action: Action, resource: Resource, object?: AccessObject): boolean {
  if (subject.isSuperuser) return true
  const rules: ResourceRules = CATALOGUE[resource]
  const publicRule = rules.public
  if (publicRule?.actions.includes(action) && (!object || !publicRule.when || object[publicRule.when] === true)) {
    return true
  }
  if (subject.permissions.includes(codename(action, resource))) return true
  if (subject.userId === null) return false
  if (!object) return rules.authenticated?.includes(action) ?? false
  const owner = rules.owner
  if (owner?.actions.includes(action) && object[owner.field] === subject.userId) return true
  const granted = subject.objectPermissions[`${resource}:${String(object.id)}`] ?? []
  // Whoever may change or delete an object may see it.
  return granted.includes(action) || (action === 'view' && granted.length > 0)
}
