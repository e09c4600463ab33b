/**
 * Which publisher each receive slot of a viewer carries. Pure: rankings in, slot lists out.
 * A publisher that stays wanted keeps its slot (its video does not jump between tiles); a
 * newcomer takes the first free one.
 */

export type SlotList = readonly (string | null)[]

/** Slots with `wanted` (at most as many as slots, best first), keeping those already placed where they are. */
export function assignSlots(current: SlotList, wanted: readonly string[]): (string | null)[] {
  const keep = new Set(wanted.slice(0, current.length))
  const next = current.map((id) => (id !== null && keep.has(id) ? id : null))
  const placed = new Set(next)
  for (const id of keep) {
    if (placed.has(id)) continue
    const free = next.indexOf(null)
    if (free < 0) break
    next[free] = id
  }
  return next
}

/** A candidate for a viewer's slots (never the viewer itself). */
export interface SpeakerView {
  id: string
  /** Smoothed audio activity (0 silent … 127 loudest). */
  activity: number
  /** When it was last heard speaking (-Infinity: never). */
  spokeAt: number
  /** When it started publishing: the order among those who never spoke. */
  since: number
}

/** Activity an audio slot's holder keeps over a challenger (hysteresis: two similar voices do not swap slots every tick). */
export const AUDIO_SLOT_MARGIN = 8

/** The loudest `count`, incumbents favoured by AUDIO_SLOT_MARGIN. */
export function loudest(candidates: readonly SpeakerView[], current: SlotList, count: number): string[] {
  const incumbent = new Set(current)
  const score = (c: SpeakerView) => c.activity + (incumbent.has(c.id) ? AUDIO_SLOT_MARGIN : 0)
  return [...candidates]
    .sort((a, b) => score(b) - score(a) || a.since - b.since || (a.id < b.id ? -1 : 1))
    .slice(0, count)
    .map((c) => c.id)
}

/** The last `count` to speak, most recent first; those who never spoke by publishing order. */
export function lastSpeakers(candidates: readonly SpeakerView[], count: number): string[] {
  return [...candidates]
    .sort((a, b) => b.spokeAt - a.spokeAt || a.since - b.since || (a.id < b.id ? -1 : 1))
    .slice(0, count)
    .map((c) => c.id)
}
