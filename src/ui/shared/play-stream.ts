import type { Action } from 'svelte/action'

/**
 * `<video use:playStream={stream}>`: shows `stream`. Only a different stream is assigned:
 * assigning srcObject, even the same stream again, reloads the video (a black flash, frames
 * counted from zero), and tiles re-render often.
 */
export const playStream: Action<HTMLVideoElement, MediaStream | null> = (video, stream) => {
  const show = (next: MediaStream | null) => { if (video.srcObject !== next) video.srcObject = next }
  show(stream)
  return { update: show }
}
