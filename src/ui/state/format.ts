/** Wall-clock time of day, e.g. 14:03:07. */
export function clock(ms: number): string {
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false })
}

/** Time of day with milliseconds, for the event log. */
export function preciseClock(ms: number): string {
  return `${clock(ms)}.${String(new Date(ms).getMilliseconds()).padStart(3, '0')}`
}

/** A presence state map as one line, e.g. "status: away · role: host". */
export function describeStates(states: Record<string, string>, skip: readonly string[] = []): string {
  return Object.entries(states).filter(([key]) => !skip.includes(key)).map(([key, value]) => `${key}: ${value}`).join(' · ')
}
