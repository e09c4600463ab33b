import { describe, expect, it } from 'vitest'
import { VideoLiveness } from './video-liveness.svelte'

class FakeTrack extends EventTarget {
  muted = true
  readyState: 'live' | 'ended' = 'live'
  set(change: Partial<Pick<FakeTrack, 'muted' | 'readyState'>>, event: string) {
    Object.assign(this, change)
    this.dispatchEvent(new Event(event))
  }
}

class FakeStream extends EventTarget {
  tracks: FakeTrack[] = []
  getVideoTracks() { return this.tracks }
  add(track: FakeTrack) {
    this.tracks.push(track)
    this.dispatchEvent(new Event('addtrack'))
  }
}

describe('video liveness', () => {
  it('a remote video counts once its track unmutes, and stops counting when it mutes or ends', () => {
    const stream = new FakeStream()
    const liveness = new VideoLiveness()
    liveness.watch(stream as unknown as MediaStream)
    expect(liveness.live).toBe(false) // audio first, no video track yet
    const video = new FakeTrack()
    stream.add(video)
    expect(liveness.live).toBe(false) // muted until frames arrive
    video.set({ muted: false }, 'unmute')
    expect(liveness.live).toBe(true)
    video.set({ muted: true }, 'mute')
    expect(liveness.live).toBe(false)
    video.set({ muted: false }, 'unmute')
    video.set({ readyState: 'ended' }, 'ended')
    expect(liveness.live).toBe(false)
  })

  it('watching the same stream again picks up tracks added without an event; a new stream starts afresh', () => {
    const stream = new FakeStream()
    const liveness = new VideoLiveness()
    liveness.watch(stream as unknown as MediaStream)
    const video = new FakeTrack()
    video.muted = false
    stream.tracks.push(video)
    liveness.watch(stream as unknown as MediaStream)
    expect(liveness.live).toBe(true)
    liveness.watch(null)
    expect(liveness.live).toBe(false)
    video.set({ muted: false }, 'unmute') // no longer followed
    expect(liveness.live).toBe(false)
    liveness.destroy()
  })
})
