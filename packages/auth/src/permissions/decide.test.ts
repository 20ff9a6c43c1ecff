import { describe, expect, it } from 'vitest'

import type { Subject } from './decide.js'
import { can, CATALOGUE, RESOURCES } from './decide.js'

const anon: Subject = { userId: null, isSuperuser: false, permissions: [], objectPermissions: {} }
const alice: Subject = { userId: 1, isSuperuser: false, permissions: [], objectPermissions: {} }
const editor: Subject = { ...alice, userId: 2, permissions: ['view_article', 'change_article', 'delete_article'] }
const friend: Subject = { ...alice, userId: 3, objectPermissions: { 'article:10': ['change'] } }
const root: Subject = { ...anon, userId: 9, isSuperuser: true }

const draft = { id: 10, authorId: 1, published: false }
const published = { id: 11, authorId: 1, published: true }

describe('can(): the catalogue rules', () => {
  it('declares the auth resources and articles', () => {
    expect(RESOURCES).toEqual(['user', 'group', 'permission', 'auditevent', 'article'])
    expect(CATALOGUE.article.owner.field).toBe('authorId')
  })

  it.each([
    ['anonymous', anon, { viewDraft: false, viewPublished: true, add: false, change: false, delete: false }],
    ['the author', alice, { viewDraft: true, viewPublished: true, add: true, change: true, delete: true }],
    ['an editor', editor, { viewDraft: true, viewPublished: true, add: true, change: true, delete: true }],
    ['a grantee', friend, { viewDraft: true, viewPublished: true, add: true, change: true, delete: false }],
    ['a superuser', root, { viewDraft: true, viewPublished: true, add: true, change: true, delete: true }],
  ] as const)('%s', (_name, subject, expected) => {
    expect({
      viewDraft: can(subject, 'view', 'article', draft),
      viewPublished: can(subject, 'view', 'article', published),
      add: can(subject, 'add', 'article'),
      change: can(subject, 'change', 'article', draft),
      delete: can(subject, 'delete', 'article', draft),
    }).toEqual(expected)
  })

  it('a grantee may change only the granted object', () => {
    expect(can(friend, 'change', 'article', { ...draft, id: 12 })).toBe(false)
  })

  it('nothing on the auth resources without a model permission', () => {
    for (const action of ['view', 'add', 'change', 'delete'] as const) {
      expect(can(alice, action, 'user')).toBe(false)
      expect(can({ ...alice, permissions: [`${action}_user`] }, action, 'user')).toBe(true)
    }
  })
})
