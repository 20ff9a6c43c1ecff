/**
 * admin.audit.*: the security log, newest first. Reading it is the model permission
 * `view_auditevent` (Django admin's `view_logentry`), which superusers hold; is_staff alone is not
 * enough, since the log names every user and the addresses they came from.
 */
import { AUDIT_EVENTS, IsAuthenticated, listAuditEvents, ModelPermissions } from '@gatehouse/auth'
import * as z from 'zod'

import { permitted, publicProcedure } from '../procedures.js'
import { router } from '../trpc.js'
import { prohibitNull, rowId } from './schemas.js'

const INTEGER = 'A valid integer is required.'
// audit_events.id is a bigint: any safe integer is a cursor Postgres can compare.
const cursor = z.number({ error: INTEGER }).int(INTEGER).positive(INTEGER)

const listInput = z
  .strictObject({
    event: z.enum(AUDIT_EVENTS, { error: `Expected one of ${AUDIT_EVENTS.join(', ')}.` }).optional(),
    userId: rowId.optional(),
    username: prohibitNull(
      z.string({ error: 'Not a valid string.' }).max(150, 'Ensure this field has no more than 150 characters.'),
    ).optional(),
    cursor: cursor.optional(),
    limit: z
      .number({ error: INTEGER })
      .int(INTEGER)
      .min(1, 'Ensure this value is greater than or equal to 1.')
      .max(200, 'Ensure this value is less than or equal to 200.')
      .optional(),
  })
  .optional()

export const auditRouter = router({
  list: publicProcedure
    .use(permitted(IsAuthenticated, ModelPermissions('auditevent')))
    .input(listInput)
    .query(({ ctx, input }) => listAuditEvents(ctx.auth.db, { ...input, limit: input?.limit ?? 50 })),
})
