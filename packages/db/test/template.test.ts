import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'

import { createDb, dumpEmbedded, migrate } from '../src/index.js'

const names = async (db: Awaited<ReturnType<typeof createDb>>) =>
  (await sql<{ name: string }>`select name from marks order by name`.execute(db)).rows.map((r) => r.name)

// Test databases start from a dump of a migrated one (testing.ts); what a copy holds is checked here.
describe('embedded templates (dumpEmbedded → embeddedTemplate)', () => {
  it('starts a new database as a copy of the dump, independent of the original and of other copies', async () => {
    const original = await createDb({ dataDir: null, poolSize: 2 })
    let template: Blob
    try {
      await migrate(original)
      await sql`create table marks (name text primary key)`.execute(original)
      await sql`insert into marks values ('in the template')`.execute(original)
      await sql`checkpoint`.execute(original)
      template = await dumpEmbedded(original)
      await sql`insert into marks values ('after the dump')`.execute(original)
      expect(await names(original)).toEqual(['after the dump', 'in the template'])
    } finally {
      await original.destroy()
    }

    const [a, b] = await Promise.all([1, 2].map(() => createDb({ dataDir: null, embeddedTemplate: template })))
    try {
      expect(await names(a!)).toEqual(['in the template'])
      await sql`insert into marks values ('only in a')`.execute(a!)
      expect(await names(a!)).toEqual(['in the template', 'only in a'])
      expect(await names(b!)).toEqual(['in the template'])
      // The copy is migrated: nothing left to apply, and the seeded role groups are there.
      expect(await migrate(b!)).toEqual([])
      const groups = await b!.selectFrom('groups').select('name').execute()
      expect(groups.map((g) => g.name)).toEqual(expect.arrayContaining(['Admin', 'Manager', 'HR']))
    } finally {
      await Promise.all([a!.destroy(), b!.destroy()])
    }
  })

  it('fills a new data folder from the template, and leaves a folder that holds a database as it is', async () => {
    const source = await createDb({ dataDir: null, poolSize: 1 })
    await sql`create table marks (name text primary key)`.execute(source)
    await sql`insert into marks values ('template')`.execute(source)
    await sql`checkpoint`.execute(source)
    const template = await dumpEmbedded(source)
    await source.destroy()

    const dir = await mkdtemp(join(tmpdir(), 'gh-template-'))
    try {
      const first = await createDb({ dataDir: dir, embeddedTemplate: template })
      await sql`insert into marks values ('written on disk')`.execute(first)
      await first.destroy()
      // Reopened with the template again: the folder's own data wins, nothing is overwritten.
      const again = await createDb({ dataDir: dir, embeddedTemplate: template })
      expect(await names(again)).toEqual(['template', 'written on disk'])
      await again.destroy()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('refuses to dump a database this process does not hold', async () => {
    const db = await createDb({ databaseUrl: 'postgres://nobody@127.0.0.1:1/none' })
    try {
      expect(() => dumpEmbedded(db)).toThrow(
        'dumpEmbedded: this database is not an embedded one held by this process',
      )
    } finally {
      await db.destroy()
    }
  })
})
