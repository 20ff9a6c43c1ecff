/**
 * What a field may hold, wherever it arrives: a procedure's input schema (routers/schemas.ts),
 * a REST path parameter (rest/table.ts), an OAuth form or parameter (oauth/).
 */

/** DRF's CharField message (ProhibitNullCharactersValidator): Postgres can store no U+0000 in text. */
export const NULL_CHARACTERS = 'Null characters are not allowed.'

/** Postgres's `integer`, the type of every row id (users, articles, groups). */
export const MAX_ROW_ID = 2_147_483_647
