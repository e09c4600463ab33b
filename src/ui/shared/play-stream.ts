import type { Action } from 'svelte/action'

/** Who starts remote playback: the SDK's `play(element)`, which reports a blocked autoplay instead of throwing. */
export interface MediaPlayer { play(element: HTMLMediaElement): Promise<void> }

/** A stream alone (our own preview: muted, the `autoplay` attribute suffices), or a remote one with its player. */
export type PlayStreamParams = MediaStream | null | { stream: MediaStream | null; player?: MediaPlayer | null }

/**
 * `<video use:playStream={stream}>` or `use:playStream={{ stream, player }}`: shows `stream`.
 * Only a different stream is assigned: assigning srcObject, even the same stream again,
 * reloads the video (a black flash, frames counted from zero), and tiles re-render often.
 * With a player, each new stream is started through it, so the browser's autoplay policy
 * blocking it becomes an SDK `autoplay` event (and the tile offers "Click to play").
 */
export const playStream: Action<HTMLVideoElement, PlayStreamParams> = (video, params) => {
  const show = (next: PlayStreamParams) => {
    const { stream, player } = next === null || !('stream' in next) ? { stream: next, player: null } : next
    if (video.srcObject === stream) return
    video.srcObject = stream
    if (stream && player) player.play(video).catch((error: unknown) => console.warn('could not start playback', error))
  }
  show(params)
  return { update: show }
}
