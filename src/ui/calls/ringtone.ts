/** The two tones played together (Hz): the British double ring, which people hear as "a phone". */
export const RING_TONES_HZ = [400, 450] as const
/** On, off, on, off (seconds): ring-ring, pause. */
export const RING_CADENCE_S = [0.4, 0.2, 0.4, 2] as const
/** Loud enough to notice, quiet enough not to startle. */
export const RING_GAIN = 0.12
/** Each burst fades in and out over this long so it does not click. */
const FADE_S = 0.015
const CYCLE_S = RING_CADENCE_S.reduce((sum, part) => sum + part, 0)

/** The part of an AudioContext the ringtone uses (a fake one in tests). */
export type RingAudio = Pick<AudioContext, 'createGain' | 'createOscillator' | 'destination' | 'currentTime' | 'resume' | 'suspend' | 'close'>

function browserAudio(): RingAudio | null {
  return typeof AudioContext === 'function' ? new AudioContext() : null
}

/**
 * A phone's ring synthesised with Web Audio: no audio file to fetch or license. The
 * context is made on the first ring and kept; `stop` silences it, `destroy` closes it.
 *
 * @example
 * const tone = new Ringtone()
 * tone.start() // ring-ring… ring-ring…
 * tone.stop()
 */
export class Ringtone {
  #audio: RingAudio | null = null
  #voice: { gain: GainNode; oscillators: OscillatorNode[] } | null = null
  #timer: ReturnType<typeof setInterval> | undefined

  constructor(private readonly createAudio: () => RingAudio | null = browserAudio) {}

  get playing(): boolean { return this.#voice !== null }

  start(): void {
    if (this.#voice) return
    const audio = this.#context()
    if (!audio) return
    // A context made without a click on the page stays suspended (autoplay policy) until there is one.
    audio.resume().catch((error: unknown) => console.warn('ringtone: audio did not start', error))
    const gain = audio.createGain()
    gain.gain.value = 0
    gain.connect(audio.destination)
    const oscillators = RING_TONES_HZ.map((hz) => {
      const oscillator = audio.createOscillator()
      oscillator.frequency.value = hz
      oscillator.connect(gain)
      oscillator.start()
      return oscillator
    })
    this.#voice = { gain, oscillators }
    // Keep about two cycles scheduled ahead so a late timer leaves no gap (and a suspended context no pile-up).
    let next = audio.currentTime
    const schedule = () => {
      while (next - audio.currentTime < 2 * CYCLE_S) next = scheduleCycle(gain.gain, Math.max(next, audio.currentTime))
    }
    schedule()
    this.#timer = setInterval(schedule, CYCLE_S * 1000)
  }

  stop(): void {
    clearInterval(this.#timer)
    const voice = this.#voice
    if (!voice) return
    this.#voice = null
    for (const oscillator of voice.oscillators) {
      oscillator.stop()
      oscillator.disconnect()
    }
    voice.gain.disconnect()
    // Let go of the audio device between calls.
    this.#audio?.suspend().catch((error: unknown) => console.warn('ringtone: could not suspend audio', error))
  }

  destroy(): void {
    this.stop()
    this.#audio?.close().catch((error: unknown) => console.warn('ringtone: could not close audio', error))
    this.#audio = null
  }

  #context(): RingAudio | null {
    if (!this.#audio) {
      try {
        this.#audio = this.createAudio()
      } catch (error) {
        console.warn('ringtone: no audio', error) // too many contexts, or audio disabled: ring silently
      }
    }
    return this.#audio
  }
}

/** Schedules one ring cycle from `at`; returns when the next one starts. */
function scheduleCycle(gain: AudioParam, at: number): number {
  let t = at
  RING_CADENCE_S.forEach((length, index) => {
    if (index % 2 === 0) {
      gain.setValueAtTime(0, t)
      gain.linearRampToValueAtTime(RING_GAIN, t + FADE_S)
      gain.setValueAtTime(RING_GAIN, t + length - FADE_S)
      gain.linearRampToValueAtTime(0, t + length)
    }
    t += length
  })
  return t
}
