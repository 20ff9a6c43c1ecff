/** What several areas of the REST facade's routes share: the login body, reply schemas, cursor pages. */
import * as z from 'zod'

import type { RestRequest } from '../table.js'
import { body, toSnake } from '../table.js'

export const credentials = { username: body('string'), password: body('string') }

// The success bodies' schemas, for the OpenAPI document (../openapi.ts).
export const PAIR = z.object({ access: z.string(), refresh: z.string() })
export const EMPTY = z.object({})
export const MESSAGE = z.object({ message: z.string() })

/** A keyset page as DRF's CursorPagination shapes it; `previous` is always null (forward only). */
export function page(output: { items: readonly unknown[]; nextCursor: number | null }, request: RestRequest) {
  let next: string | null = null
  if (output.nextCursor !== null) {
    const url = new URL(request.url)
    url.searchParams.set('cursor', String(output.nextCursor))
    next = url.href
  }
  return { next, previous: null, results: toSnake(output.items) }
}
