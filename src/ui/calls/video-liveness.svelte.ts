const TRACK_EVENTS = ['mute', 'unmute', 'ended'] as const

/**
 * Whether a stream has a video track that is live and receiving: a remote track is muted
 * until frames arrive and while they stop, and ended once its sender is gone. The tile
 * shows the person's initials instead of a black picture when it is not.
 */
export class VideoLiveness {
  #live = $state(false)
  #stream: MediaStream | null = null
  readonly #tracks = new Set<MediaStreamTrack>()
  readonly #update = () => { this.#live = this.#stream?.getVideoTracks().some((track) => track.readyState === 'live' && !track.muted) ?? false }
  readonly #follow = () => {
    for (const track of this.#stream?.getVideoTracks() ?? []) {
      if (this.#tracks.has(track)) continue
      this.#tracks.add(track)
      for (const type of TRACK_EVENTS) track.addEventListener(type, this.#update)
    }
    this.#update()
  }

  get live(): boolean { return this.#live }

  /** Follows `stream` (the same stream again picks up tracks added to it since). */
  watch(stream: MediaStream | null): void {
    if (stream !== this.#stream) {
      this.#release()
      this.#stream = stream
      stream?.addEventListener('addtrack', this.#follow)
      stream?.addEventListener('removetrack', this.#update)
    }
    this.#follow()
  }

  destroy(): void {
    this.#release()
    this.#stream = null
    this.#live = false
  }

  #release(): void {
    this.#stream?.removeEventListener('addtrack', this.#follow)
    this.#stream?.removeEventListener('removetrack', this.#update)
    for (const track of this.#tracks) for (const type of TRACK_EVENTS) track.removeEventListener(type, this.#update)
    this.#tracks.clear()
  }
}
