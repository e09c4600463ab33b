import type { AutoplayEvent } from '../../../sdk'

export type { AutoplayEvent }

/** The blocked tracks after `event`: a -1 adds its track, a 0 removes it. */
export function applyAutoplay(blocked: ReadonlyMap<string, AutoplayEvent>, event: AutoplayEvent): ReadonlyMap<string, AutoplayEvent> {
  const has = blocked.has(event.trackId)
  if (event.code === -1 ? has : !has) return blocked
  const next = new Map(blocked)
  if (event.code === -1) next.set(event.trackId, event)
  else next.delete(event.trackId)
  return next
}

/** Whether playback of `stream` (or, when its track ids are unknown, anything from `srcUserId`) is blocked. */
export function isBlocked(blocked: ReadonlyMap<string, AutoplayEvent>, stream: MediaStream | null, srcUserId?: string): boolean {
  if (blocked.size === 0) return false
  const ids = new Set(stream?.getTracks().map((track) => track.id) ?? [])
  for (const event of blocked.values()) {
    if (ids.has(event.trackId) || (srcUserId !== undefined && event.srcUserId === srcUserId)) return true
  }
  return false
}

/**
 * Remote media the browser would not start without a click (its autoplay policy): the tiles
 * show "Click to play" while their tracks are here. Fed with the SDK's `autoplay` events.
 */
export class PlaybackBlocks {
  #blocked = $state.raw<ReadonlyMap<string, AutoplayEvent>>(new Map())

  get any(): boolean { return this.#blocked.size > 0 }
  get blocked(): ReadonlyMap<string, AutoplayEvent> { return this.#blocked }

  apply(event: AutoplayEvent): void {
    this.#blocked = applyAutoplay(this.#blocked, event)
  }

  blocks(stream: MediaStream | null, srcUserId?: string): boolean {
    return isBlocked(this.#blocked, stream, srcUserId)
  }

  clear(): void {
    if (this.#blocked.size > 0) this.#blocked = new Map()
  }
}
