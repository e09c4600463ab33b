import { SFU_AUDIO_SLOTS, SFU_VIDEO_SLOTS, SIMULCAST_LAYERS, type LayerRid, type SfuSlots } from '../protocol/sfu'

/**
 * What an SFU room's receive connection carries, as pure functions (room-sfu-media.ts does
 * the WebRTC): the SFU's `sfu.slots` NOTIFY says which member each slot (a receive
 * transceiver, by its mid) carries, and a member's stream is the tracks of its slots — its
 * video slot and, while it is among the loudest, its audio slot.
 */

/** The slots (mids) one member's media arrives on. */
export interface MemberSlots {
  video: string | null
  audio: string | null
}

/** The SFU names at most this many slots of each kind; anything past is not ours to trust. */
const MAX_SLOTS = { video: SFU_VIDEO_SLOTS, audio: SFU_AUDIO_SLOTS }

/** A `sfu.slots` NOTIFY's data, checked (the SFU is trusted no more than any peer): null when malformed. */
export function parseSlots(data: unknown): SfuSlots | null {
  if (typeof data !== 'object' || data === null) return null
  const parsed: SfuSlots = { video: {}, audio: {} }
  for (const kind of ['video', 'audio'] as const) {
    const slots = (data as Record<string, unknown>)[kind]
    if (typeof slots !== 'object' || slots === null || Array.isArray(slots)) return null
    const entries = Object.entries(slots)
    if (entries.length > MAX_SLOTS[kind]) return null
    for (const [mid, sessionId] of entries) {
      if (sessionId !== null && typeof sessionId !== 'string') return null
      parsed[kind][mid] = sessionId
    }
  }
  return parsed
}

/** A `sfu.layer` NOTIFY from the SFU: the layer it now forwards of a publisher; null when malformed. */
export function parseLayer(data: unknown): { sessionId: string; layer: LayerRid } | null {
  const { sessionId, layer } = (data ?? {}) as { sessionId?: unknown; layer?: unknown }
  if (typeof sessionId !== 'string' || !SIMULCAST_LAYERS.some((each) => each.rid === layer)) return null
  return { sessionId, layer: layer as LayerRid }
}

/**
 * Each member's slots. A member named in two slots of a kind (the SFU moving it between
 * slots) keeps the first in mid order, so every reading of the same slots agrees.
 */
export function slotsByMember(slots: SfuSlots): Map<string, MemberSlots> {
  const members = new Map<string, MemberSlots>()
  for (const kind of ['video', 'audio'] as const) {
    for (const mid of Object.keys(slots[kind]).sort(byMid)) {
      const sessionId = slots[kind][mid]
      if (!sessionId) continue
      const entry = members.get(sessionId) ?? { video: null, audio: null }
      entry[kind] ??= mid
      members.set(sessionId, entry)
    }
  }
  return members
}

/**
 * From one grouping to the next: members whose slots changed (they get a new stream) and
 * members with no slot any more (their stream goes).
 */
export function slotChanges(before: ReadonlyMap<string, MemberSlots>, after: ReadonlyMap<string, MemberSlots>): { changed: string[]; gone: string[] } {
  const changed = [...after].filter(([sessionId, slots]) => {
    const was = before.get(sessionId)
    return !was || was.video !== slots.video || was.audio !== slots.audio
  }).map(([sessionId]) => sessionId)
  const gone = [...before.keys()].filter((sessionId) => !after.has(sessionId))
  return { changed, gone }
}

/** Mids are numbers in practice ('0', '1', …): numeric order, else text order. */
function byMid(a: string, b: string): number {
  const [x, y] = [Number(a), Number(b)]
  return Number.isFinite(x) && Number.isFinite(y) ? x - y : a.localeCompare(b)
}

/** The member a receive track carries now, by the track's mid: for splitting one connection's stats by member. */
export function memberOfMid(grouping: ReadonlyMap<string, MemberSlots>, mid: string): string | null {
  for (const [sessionId, slots] of grouping) if (slots.video === mid || slots.audio === mid) return sessionId
  return null
}

/**
 * The members whose video slot decoded no frame between two readings (framesDecoded by mid):
 * their picture is stuck until a keyframe comes, so we ask the SFU for one. `wanted`: the
 * members whose camera is on (one that is off sends nothing to decode).
 */
export function stalledVideo(before: ReadonlyMap<string, number>, after: ReadonlyMap<string, number>, grouping: ReadonlyMap<string, MemberSlots>, wanted: (sessionId: string) => boolean): string[] {
  return [...grouping].filter(([sessionId, slots]) => {
    if (slots.video === null || !wanted(sessionId)) return false
    const frames = after.get(slots.video) ?? 0
    return frames <= (before.get(slots.video) ?? 0)
  }).map(([sessionId]) => sessionId)
}
