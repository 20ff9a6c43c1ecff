const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400 } as const

/**
 * Parses simplejwt-style lifetimes: `30s`, `5m`, `12h`, `7d`. Returns seconds, or null.
 * @example parseDurationSeconds('5m') // 300
 */
export function parseDurationSeconds(value: string): number | null {
  const match = /^(\d{1,9})(s|m|h|d)$/.exec(value.trim())
  if (!match) return null
  const amount = Number(match[1])
  const unit = match[2] as keyof typeof UNIT_SECONDS
  return amount > 0 ? amount * UNIT_SECONDS[unit] : null
}
