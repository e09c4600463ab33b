import { describe, expect, it } from 'vitest'
import { RING_GAIN, RING_TONES_HZ, Ringtone, type RingAudio } from './ringtone'

/** Just enough of an AudioContext to see what the ringtone plays. */
class FakeAudio {
  currentTime = 0
  readonly destination = {} as AudioDestinationNode
  readonly oscillators: { hz: number; started: boolean; stopped: boolean }[] = []
  readonly gainSteps: number[] = []
  state: 'running' | 'suspended' | 'closed' = 'suspended'

  createGain() {
    const steps = this.gainSteps
    const gain = { value: 0, setValueAtTime: (v: number) => { steps.push(v) }, linearRampToValueAtTime: (v: number) => { steps.push(v) } }
    return { gain, connect() {}, disconnect() {} } as unknown as GainNode
  }

  createOscillator() {
    const record = { hz: 0, started: false, stopped: false }
    this.oscillators.push(record)
    const frequency = { set value(hz: number) { record.hz = hz }, get value() { return record.hz } }
    return { frequency, connect() {}, disconnect() {}, start: () => { record.started = true }, stop: () => { record.stopped = true } } as unknown as OscillatorNode
  }

  async resume() { this.state = 'running' }
  async suspend() { this.state = 'suspended' }
  async close() { this.state = 'closed' }
}

describe('ringtone', () => {
  it('plays the two ring tones together, in bursts, until stopped', () => {
    const audio = new FakeAudio()
    const tone = new Ringtone(() => audio as unknown as RingAudio)
    tone.start()
    expect(tone.playing).toBe(true)
    expect(audio.state).toBe('running')
    expect(audio.oscillators.map((o) => [o.hz, o.started])).toEqual(RING_TONES_HZ.map((hz) => [hz, true]))
    // Bursts: the gain goes up to RING_GAIN and back to silence, cycle after cycle.
    expect(audio.gainSteps.filter((v) => v === RING_GAIN).length).toBeGreaterThanOrEqual(4)
    expect(audio.gainSteps.at(-1)).toBe(0)

    tone.stop()
    expect(tone.playing).toBe(false)
    expect(audio.oscillators.every((o) => o.stopped)).toBe(true)
    expect(audio.state).toBe('suspended')
  })

  it('reuses one audio context from ring to ring and closes it on destroy', () => {
    let made = 0
    const audio = new FakeAudio()
    const tone = new Ringtone(() => { made++; return audio as unknown as RingAudio })
    tone.start()
    tone.start() // already ringing: nothing more
    tone.stop()
    tone.start()
    expect(made).toBe(1)
    expect(audio.oscillators).toHaveLength(2 * RING_TONES_HZ.length)
    tone.destroy()
    expect(audio.state).toBe('closed')
    expect(audio.oscillators.every((o) => o.stopped)).toBe(true)
  })

  it('rings silently where there is no Web Audio', () => {
    const tone = new Ringtone(() => null)
    tone.start()
    expect(tone.playing).toBe(false)
    tone.stop()
    tone.destroy()
  })
})
