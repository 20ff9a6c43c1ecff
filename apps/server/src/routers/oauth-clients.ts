/**
 * admin.oauthClients.*: OAuth client registration (DOT's Application admin), guarded by the model
 * permissions `view_oauthclient`, `add_oauthclient` and `delete_oauthclient`; superusers hold them.
 * The secret of a confidential client is in `create`'s answer and nowhere else, ever.
 */
import { IsAuthenticated, ModelPermissions } from '@gatehouse/auth'
import * as z from 'zod'

import { OAUTH_GRANT_TYPES } from '../config.js'
import { createOAuthClient, deleteOAuthClient, listOAuthClients } from '../oauth-core/clients.js'
import { permitted, publicProcedure } from '../procedures.js'
import { router } from '../trpc.js'
import { prohibitNull } from './schemas.js'

const on = publicProcedure.use(permitted(IsAuthenticated, ModelPermissions('oauthclient')))

const createInput = z.strictObject({
  name: prohibitNull(
    z.string({ error: 'Not a valid string.' }).max(150, 'Ensure this field has no more than 150 characters.'),
  ),
  grants: z
    .array(z.enum(OAUTH_GRANT_TYPES, { error: `Expected one of ${OAUTH_GRANT_TYPES.join(', ')}.` }))
    .max(OAUTH_GRANT_TYPES.length),
  redirectUris: z
    .array(prohibitNull(z.string().max(2000, 'Ensure this field has no more than 2000 characters.')))
    .max(20)
    .optional(),
  /** Space separated, as in OAuth requests. */
  scopes: prohibitNull(
    z.string({ error: 'Not a valid string.' }).max(200, 'Ensure this field has no more than 200 characters.'),
  ),
  public: z.boolean().optional(),
  /** May introspect any token (an API checking the tokens presented to it). */
  resourceServer: z.boolean().optional(),
})

const clientId = prohibitNull(z.string({ error: 'Not a valid string.' }).min(1, 'This field may not be blank.').max(64))

export const oauthClientsRouter = router({
  list: on.query(async ({ ctx }) => ({ items: await listOAuthClients(ctx.auth.db) })),
  create: on
    .input(createInput)
    .mutation(({ ctx, input }) => createOAuthClient(ctx.auth.db, input, ctx.config.oauthGrants)),
  delete: on.input(z.strictObject({ clientId })).mutation(async ({ ctx, input }) => {
    await deleteOAuthClient(ctx.auth.db, input.clientId)
    return { detail: 'Deleted.' as const }
  }),
})
