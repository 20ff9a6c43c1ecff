/**
 * For tests in any package: the secret key a test's auth service encrypts its stored keys under.
 * Never a server's: the server takes SECRET_KEY from its environment or its data folder.
 */
export const TEST_SECRET_KEY = 'gatehouse-test-secret-key-not-for-production-0123456789'
