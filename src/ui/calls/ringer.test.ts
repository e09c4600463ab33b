import { describe, expect, it } from 'vitest'
import { RINGTONE_MUTED_KEY, Ringer, type Blinker, type Tone } from './ringer.svelte'

function fakes(saved: Record<string, string> = {}) {
  const tone: Tone & { playing: boolean; destroyed: boolean } = { playing: false, destroyed: false, start() { this.playing = true }, stop() { this.playing = false }, destroy() { this.destroyed = true } }
  const title: Blinker & { notice: string | null } = { notice: null, start(notice) { this.notice = notice }, stop() { this.notice = null } }
  const storage = { getItem: (key: string) => saved[key] ?? null, setItem: (key: string, value: string) => { saved[key] = value } }
  return { tone, title, storage, saved }
}

describe('ringer', () => {
  it('rings and blinks the title while a call waits, and stops both when it is answered or gone', () => {
    const { tone, title, storage } = fakes()
    const ringer = new Ringer({ tone, title, storage })
    ringer.ring('alice')
    expect(ringer.caller).toBe('alice')
    expect(tone.playing).toBe(true)
    expect(title.notice).toBe('📞 alice is calling…')
    ringer.stop()
    expect(ringer.caller).toBeNull()
    expect(tone.playing).toBe(false)
    expect(title.notice).toBeNull()
  })

  it('muted: the title still blinks but no sound, and the choice is remembered for next time', () => {
    const { tone, title, storage, saved } = fakes()
    const ringer = new Ringer({ tone, title, storage })
    ringer.setMuted(true)
    expect(saved[RINGTONE_MUTED_KEY]).toBe('true')
    ringer.ring('alice')
    expect(tone.playing).toBe(false)
    expect(title.notice).toBe('📞 alice is calling…')

    const next = fakes(saved)
    const later = new Ringer({ tone: next.tone, title: next.title, storage: next.storage })
    expect(later.muted).toBe(true)
    later.ring('bob')
    expect(next.tone.playing).toBe(false)
  })

  it('muting while it rings silences it at once; unmuting while it rings starts the sound', () => {
    const { tone, title, storage } = fakes()
    const ringer = new Ringer({ tone, title, storage })
    ringer.ring('alice')
    ringer.setMuted(true)
    expect(tone.playing).toBe(false)
    ringer.setMuted(false)
    expect(tone.playing).toBe(true)
    ringer.stop()
    ringer.setMuted(false)
    expect(tone.playing).toBe(false) // nothing rings: unmuting plays nothing
  })

  it('rings where storage is unavailable, and lets go of the sound on destroy', () => {
    const { tone, title } = fakes()
    const broken = { getItem: () => { throw new Error('disabled') }, setItem: () => { throw new Error('disabled') } }
    const ringer = new Ringer({ tone, title, storage: broken })
    expect(ringer.muted).toBe(false)
    ringer.ring('alice')
    expect(tone.playing).toBe(true)
    ringer.destroy()
    expect(tone.playing).toBe(false)
    expect(tone.destroyed).toBe(true)
  })
})
