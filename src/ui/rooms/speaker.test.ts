import { afterEach, describe, expect, it, vi } from 'vitest'
import { loudestBlock, nextSpeaker, rms, SPEAKER_POLL_MS, SpeakerDetector, type AnalyserLike, type LevelMeterContext } from './speaker.svelte'

/** An audio context whose analysers report the level the test sets per stream. */
function fakeAudio() {
  const levels = new Map<object, number>()
  const sources = new Set<object>()
  let closed = false
  const context: LevelMeterContext = {
    state: 'running',
    createMediaStreamSource(stream) {
      const source = { stream, connect(analyser: AnalyserLike & { stream?: object }) { analyser.stream = stream }, disconnect() { sources.delete(source) } }
      sources.add(source)
      return source
    },
    createAnalyser() {
      const analyser: AnalyserLike & { stream?: object } = {
        fftSize: 0,
        getFloatTimeDomainData(array) { array.fill(levels.get(analyser.stream!) ?? 0) },
      }
      return analyser
    },
    resume: async () => {},
    close: async () => { closed = true },
  }
  return { context, levels, sources, get closed() { return closed } }
}

const track = () => ({ enabled: true, readyState: 'live' })
const stream = (audio = true) => ({ getAudioTracks: () => (audio ? [track()] : []) }) as unknown as MediaStream

describe('speaker highlight', () => {
  afterEach(() => { vi.useRealTimers() })

  it('measures the level of a waveform', () => {
    expect(rms(new Float32Array([0.5, -0.5, 0.5, -0.5]))).toBeCloseTo(0.5)
    expect(rms(new Float32Array(0))).toBe(0)
    // A 20 ms beep in a window of silence counts at its own level, not diluted by the window.
    const window = new Float32Array(16384)
    window.fill(0.5, 4096, 4096 + 1024)
    expect(loudestBlock(window)).toBeCloseTo(0.5)
  })

  it('keeps the highlight through short pauses (a beep every 500 ms stays lit) and lets it go about a second after the sound stops', () => {
    vi.useFakeTimers()
    const audio = fakeAudio()
    const detector = new SpeakerDetector({ createContext: () => audio.context })
    const beeper = stream()
    detector.sync(new Map([['beeper', beeper]]))
    for (let beep = 0; beep < 4; beep++) {
      audio.levels.set(beeper, 0.2)
      vi.advanceTimersByTime(SPEAKER_POLL_MS)
      audio.levels.set(beeper, 0)
      expect(detector.speaker).toBe('beeper')
      vi.advanceTimersByTime(SPEAKER_POLL_MS)
      expect(detector.speaker).toBe('beeper')
    }
    vi.advanceTimersByTime(SPEAKER_POLL_MS * 6)
    expect(detector.speaker).toBeNull()
    detector.destroy()
  })

  it('highlights the loudest voice, nobody when all are quiet, and does not flicker between two close voices', () => {
    expect(nextSpeaker(new Map([['a', 0.1], ['b', 0.3]]), null)).toBe('b')
    expect(nextSpeaker(new Map([['a', 0.001], ['b', 0.002]]), 'a')).toBeNull()
    expect(nextSpeaker(new Map([['a', 0.1], ['b', 0.12]]), 'a')).toBe('a')
    expect(nextSpeaker(new Map([['a', 0.1], ['b', 0.2]]), 'a')).toBe('b')
  })

  it('reads each stream every 250 ms, follows who speaks, and stops and closes the audio on destroy', () => {
    vi.useFakeTimers()
    const audio = fakeAudio()
    const detector = new SpeakerDetector({ createContext: () => audio.context })
    const [alice, bob] = [stream(), stream()]
    detector.sync(new Map([['alice', alice], ['bob', bob]]))
    audio.levels.set(bob, 0.3)
    vi.advanceTimersByTime(SPEAKER_POLL_MS)
    expect(detector.speaker).toBe('bob')

    audio.levels.set(bob, 0)
    audio.levels.set(alice, 0.4)
    vi.advanceTimersByTime(SPEAKER_POLL_MS * 4)
    expect(detector.speaker).toBe('alice')

    detector.sync(new Map([['bob', bob]]))
    expect(detector.speaker).toBeNull() // alice left
    expect(audio.sources.size).toBe(1)
    detector.destroy()
    expect(audio.sources.size).toBe(0)
    expect(audio.closed).toBe(true)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('measures a stream once its audio track arrives, and polls nothing with no streams', () => {
    vi.useFakeTimers()
    const audio = fakeAudio()
    const detector = new SpeakerDetector({ createContext: () => audio.context })
    const tracks: unknown[] = []
    const carol = { getAudioTracks: () => tracks } as unknown as MediaStream
    detector.sync(new Map([['carol', carol]]))
    vi.advanceTimersByTime(SPEAKER_POLL_MS)
    expect(audio.sources.size).toBe(0)
    tracks.push(track())
    audio.levels.set(carol, 0.5)
    vi.advanceTimersByTime(SPEAKER_POLL_MS * 2)
    expect(detector.speaker).toBe('carol')
    detector.sync(new Map())
    expect(vi.getTimerCount()).toBe(0)
    detector.destroy()
  })
})
