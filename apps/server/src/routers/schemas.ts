/**
 * Input schemas with DRF's messages, so a client sees `{"username":["This field is required."]}`
 * whether it talks tRPC or (later) the REST facade.
 */
import * as z from 'zod'

import { MAX_ROW_ID, NULL_CHARACTERS } from '../kit/fields.js'

const REQUIRED = 'This field is required.'

/**
 * Refuses U+0000, as every DRF CharField does: Postgres cannot store it in text or jsonb, so a
 * NUL that got as far as a query would fail it with a 500 instead of naming the field.
 */
export function prohibitNull<T extends z.ZodString>(schema: T): T {
  return schema.refine((v) => !v.includes('\0'), NULL_CHARACTERS)
}

const INTEGER = 'A valid integer is required.'

/**
 * A row id (users, articles, groups): a positive integer that fits Postgres's `integer`. A larger
 * one can name no row, and sent to Postgres it would fail the query (out of range) with a 500.
 */
export const rowId = z
  .number({ error: INTEGER })
  .int(INTEGER)
  .positive(INTEGER)
  .max(MAX_ROW_ID, `Ensure this value is less than or equal to ${MAX_ROW_ID}.`)

/** A required string field with bounds; the message names the problem as Django would. */
export function field(opts: { max: number; allowBlank?: boolean; trim?: boolean }) {
  let schema = z.string({
    error: (issue) => (issue.input === undefined || issue.input === null ? REQUIRED : 'Not a valid string.'),
  })
  if (opts.trim) schema = schema.trim()
  if (!opts.allowBlank) schema = schema.min(1, 'This field may not be blank.')
  return prohibitNull(schema.max(opts.max, `Ensure this field has no more than ${opts.max} characters.`))
}

export const username = field({ max: 150 })
// Long enough for any passphrase, short enough that hashing it is cheap (it is SHA-256'd first).
export const password = field({ max: 4096 })
export const token = field({ max: 4096 })
export const email = prohibitNull(
  z.string({ error: 'Not a valid string.' }).trim().max(254, 'Ensure this field has no more than 254 characters.'),
).refine((v) => v === '' || z.email().safeParse(v).success, 'Enter a valid email address.')
