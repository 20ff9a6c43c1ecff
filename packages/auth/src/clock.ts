/** Injectable time (jose's `currentDate`, lucia's `now`): tests pass a fixed clock. */
export type Clock = () => Date

export const systemClock: Clock = () => new Date()

export function epochSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000)
}
