// Django's UnicodeUsernameValidator: letters, digits and @/./+/-/_ only.
const USERNAME_PATTERN = /^[\p{L}\p{N}_.@+-]+$/u
export const USERNAME_MAX_LENGTH = 150

/** Django's messages for a bad username, or null when it is fine. */
export function checkUsername(username: string): string | null {
  if (username.length === 0) return 'This field may not be blank.'
  if (username.length > USERNAME_MAX_LENGTH) return `Ensure this field has no more than ${USERNAME_MAX_LENGTH} characters.`
  if (!USERNAME_PATTERN.test(username)) {
    return 'Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.'
  }
  return null
}
