import type { MediaType } from './stats/types'

/** Seed 001 "OnEventAutoplayResponse" data: -1 the browser blocked playback, 0 it plays (after a click). */
export interface AutoplayEvent {
  code: 0 | -1
  message: string
  srcUserId: string
  streamId: number
  trackId: string
  mediaType: MediaType
  videoWidth?: number
  videoHeight?: number
}

/**
 * Plays remote media and reports what the browser's autoplay policy blocks: an element
 * whose play() is refused (NotAllowedError) is kept until `resume()` — called from a click —
 * plays it. Calls and rooms each hold one; `source` says whose stream it is.
 */
export class Playback {
  /** Each element waiting for a click, with the stream it was refused for. */
  private readonly blocked = new Map<HTMLMediaElement, MediaProvider | null>()

  constructor(
    private readonly source: (stream: MediaStream) => { srcUserId: string; streamId: number } | null,
    private readonly emit: (event: AutoplayEvent) => void,
  ) {}

  /** element.play(), with a refusal reported (code -1) instead of thrown. */
  async play(element: HTMLMediaElement): Promise<void> {
    for (const each of this.blocked.keys()) if (!each.isConnected) this.blocked.delete(each)
    try {
      await element.play()
      this.blocked.delete(element)
    } catch (error) {
      // AbortError: another stream replaced this one meanwhile; that play() reports for itself.
      if ((error as { name?: string }).name !== 'NotAllowedError' || this.blocked.get(element) === element.srcObject) return
      this.blocked.set(element, element.srcObject)
      this.report(element, -1, 'the browser blocked playback until the page is clicked')
    }
  }

  /** From a click: plays every blocked element, reporting each that plays (code 0). */
  async resume(): Promise<void> {
    await Promise.all([...this.blocked.keys()].map(async (element) => {
      try {
        await element.play()
      } catch {
        return // still blocked (not a user gesture): it stays waiting
      }
      this.blocked.delete(element)
      this.report(element, 0, 'playing')
    }))
  }

  private report(element: HTMLMediaElement, code: 0 | -1, message: string): void {
    const stream = element.srcObject instanceof MediaStream ? element.srcObject : null
    const source = stream && this.source(stream)
    if (!stream || !source) return
    for (const track of stream.getTracks()) {
      const size = track.kind === 'video' && element instanceof HTMLVideoElement ? { videoWidth: element.videoWidth, videoHeight: element.videoHeight } : {}
      this.emit({ code, message, ...source, trackId: track.id, mediaType: track.kind as MediaType, ...size })
    }
  }
}
