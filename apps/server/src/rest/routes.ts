/**
 * The REST facade's routes: the seed's two Django projects first, with their URLs, bodies and
 * statuses as ../shared/reference/drf-wire.md records them, then Gatehouse's own procedures in
 * DRF's style (plural resources, `{id}` detail URLs, 201 on create, 204 on delete, snake_case
 * fields, cursor pages as `{next, previous, results}`). Every route calls its procedure; nothing
 * here decides who may do what. Each area's views are in routes/; the order here is the order
 * they are matched in and listed in the OpenAPI document and the Postman collection.
 */
import { accountViews } from './routes/account.js'
import { adminViews } from './routes/admin.js'
import { articleViews } from './routes/articles.js'
import { jwtViews } from './routes/jwt.js'
import { stockViews } from './routes/stock.js'
import { tokenAuthViews } from './routes/token-auth.js'
import type { RestView } from './table.js'

/** Every view of the facade, the tutorial's first. */
export const REST_VIEWS: readonly RestView[] = [
  ...tokenAuthViews,
  ...jwtViews,
  ...stockViews,
  // Gatehouse's own procedures, authenticated by every scheme of AUTH_SCHEMES.
  ...accountViews,
  ...articleViews,
  ...adminViews,
]
