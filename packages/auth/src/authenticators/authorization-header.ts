/** `Authorization: <scheme> <credential>` split the way DRF does: on whitespace, scheme case-insensitive (RFC 7235). */
export function splitAuthorization(header: string | undefined): { scheme: string; parts: string[] } | null {
  const trimmed = header?.trim()
  if (!trimmed) return null
  const [scheme = '', ...parts] = trimmed.split(/\s+/)
  return { scheme: scheme.toLowerCase(), parts }
}
