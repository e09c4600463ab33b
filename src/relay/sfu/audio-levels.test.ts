import { describe, expect, it } from 'vitest'
import { AudioLevels, LEVEL_STALE_MS } from './audio-levels'

describe('audio levels', () => {
  it('a steady loud voice rises to its activity and counts as speaking', () => {
    const levels = new AudioLevels()
    for (let t = 0; t < 2000; t += 20) levels.add('a', 20, t)
    expect(levels.activity('a', 2000)).toBeGreaterThan(100)
    expect(levels.spokeAt('a')).toBe(1980)
  })
  it('one loud packet among silence is not speaking', () => {
    const levels = new AudioLevels()
    for (let t = 0; t < 1000; t += 20) levels.add('a', t === 500 ? 0 : 127, t)
    expect(levels.spokeAt('a')).toBe(-Infinity)
  })
  it('a publisher whose packets stopped is silent; a removed one is forgotten', () => {
    const levels = new AudioLevels()
    for (let t = 0; t < 2000; t += 20) levels.add('a', 20, t)
    expect(levels.activity('a', 1980 + LEVEL_STALE_MS)).toBe(0)
    levels.remove('a')
    expect(levels.size).toBe(0)
  })
})
