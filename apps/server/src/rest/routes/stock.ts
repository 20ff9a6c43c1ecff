/** simplejwt's and DRF's other stock views, at the URLs their docs give them. */
import { BEARER_CHALLENGE } from '../../kit/challenge.js'
import type { RestView } from '../table.js'
import { body, op, view } from '../table.js'
import { credentials, EMPTY, PAIR } from './shared.js'

// simplejwt's TokenObtain*View answer to a wrong password, with its view's challenge.
const NO_ACTIVE_ACCOUNT = {
  status: 401,
  body: { detail: 'No active account found with the given credentials' },
  challenge: BEARER_CHALLENGE,
}

export const stockViews: RestView[] = [
  view({
    path: '/api/token/',
    name: 'Token Obtain Pair',
    auth: 'none',
    operations: {
      POST: op({
        procedure: 'auth.login',
        input: credentials,
        public: true,
        respond: ({ access, refresh }) => ({ refresh, access }),
        response: PAIR,
        errors: { INVALID_CREDENTIALS: NO_ACTIVE_ACCOUNT },
        summary: 'A JWT pair for a username and password (no cookies)',
      }),
    },
  }),
  view({
    path: '/api/token/blacklist/',
    name: 'Token Blacklist',
    auth: 'none',
    operations: {
      POST: op({
        procedure: 'auth.logout',
        input: { refresh: body('string') },
        public: true,
        respond: () => ({}),
        response: EMPTY,
        summary: 'Blacklist a refresh token',
      }),
    },
  }),
  view({
    path: '/api/token/sliding/',
    name: 'Token Obtain Sliding',
    auth: 'none',
    operations: {
      POST: op({
        procedure: 'auth.sliding.obtain',
        input: credentials,
        public: true,
        errors: { INVALID_CREDENTIALS: NO_ACTIVE_ACCOUNT },
        summary: 'A sliding token for a username and password',
      }),
    },
  }),
  view({
    path: '/api/token/sliding/refresh/',
    name: 'Token Refresh Sliding',
    auth: 'none',
    operations: {
      POST: op({
        procedure: 'auth.sliding.refresh',
        input: { token: body('string') },
        public: true,
        summary: 'Refresh a sliding token in place',
      }),
    },
  }),
  view({
    path: '/api/token/sliding/blacklist/',
    name: 'Token Blacklist Sliding',
    auth: 'none',
    operations: {
      POST: op({
        procedure: 'auth.sliding.logout',
        input: { token: body('string') },
        public: true,
        respond: () => ({}),
        summary: 'Blacklist a sliding token and every refresh of it',
      }),
    },
  }),
  view({
    path: '/api/api-token-auth/',
    name: 'Obtain Auth Token',
    auth: 'default',
    operations: {
      POST: op({
        procedure: 'auth.tokens.obtain',
        input: credentials,
        public: true,
        errors: {
          INVALID_CREDENTIALS: {
            status: 400,
            body: { non_field_errors: ['Unable to log in with provided credentials.'] },
          },
        },
        summary: "DRF's obtain_auth_token: the user's API token, the same on every call",
      }),
    },
  }),
]
