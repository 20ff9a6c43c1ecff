// Django's UnicodeUsernameValidator: letters, digits and @/./+/-/_ only.
const USERNAME_PATTERN = /^[\p{L}\p{N}_.@+-]+$/u
export const USERNAME_MAX_LENGTH = 150

/**
 * Django's `AbstractBaseUser.normalize_username`: NFKC, so "ａｄｍｉｎ" (fullwidth) is "admin" and a
 * decomposed "é" the precomposed one. Names are stored and looked up in this form, so two accounts
 * cannot read the same, and every spelling of a name shares its login-failure limit.
 */
export function normalizeUsername(username: string): string {
  return username.normalize('NFKC')
}

/** Django's messages for a bad username (already normalised), or null when it is fine. */
export function checkUsername(username: string): string | null {
  if (username.length === 0) return 'This field may not be blank.'
  if (username.length > USERNAME_MAX_LENGTH)
    return `Ensure this field has no more than ${USERNAME_MAX_LENGTH} characters.`
  if (!USERNAME_PATTERN.test(username)) {
    return 'Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.'
  }
  return null
}
