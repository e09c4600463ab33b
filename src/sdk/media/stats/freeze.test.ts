import { describe, expect, it } from 'vitest'
import { FreezeMeter } from './freeze'

/** Frames every `step` ms from `from` up to (not including) `to`. */
function frames(meter: FreezeMeter, from: number, to: number, step: number): void {
  for (let at = from; at < to; at += step) meter.frame(at)
}

describe('the freeze meter', () => {
  it('smooth 30 fps video never froze', () => {
    const meter = new FreezeMeter()
    frames(meter, 0, 2_000, 33)
    expect(meter.period(2_000)).toEqual({ lag100: 0, lag150: 0 })
  })

  it('counts a whole gap above the threshold, not only the part past it', () => {
    const meter = new FreezeMeter()
    frames(meter, 0, 1_000, 20) // last frame at 980
    meter.frame(1_100) // a 120 ms gap: above 100, below 150
    frames(meter, 1_120, 2_000, 20)
    const lag = meter.period(2_000)
    expect(lag.lag100).toBeCloseTo(120 / 2_000, 9)
    expect(lag.lag150).toBe(0)
  })

  it('a gap still open at the reading counts up to it, and its rest goes to the next period', () => {
    const meter = new FreezeMeter()
    frames(meter, 0, 1_000, 20) // last frame at 980
    expect(meter.period(2_000).lag150).toBeCloseTo((2_000 - 980) / 2_000, 9)
    meter.frame(2_500)
    frames(meter, 2_520, 4_000, 20)
    expect(meter.period(4_000).lag150).toBeCloseTo(500 / 2_000, 9)
  })

  it('a picture that stopped for the whole period froze all of it', () => {
    const meter = new FreezeMeter()
    frames(meter, 0, 2_000, 20)
    meter.period(2_000)
    expect(meter.period(4_000)).toEqual({ lag100: 1, lag150: 1 })
  })

  it('before any frame nothing froze (nothing played)', () => {
    const meter = new FreezeMeter()
    expect(meter.period(2_000)).toEqual({ lag100: 0, lag150: 0 })
  })

  it('the first period begins with the first frame', () => {
    const meter = new FreezeMeter()
    meter.frame(1_000)
    meter.frame(1_400) // a 400 ms gap in a 1 s period
    frames(meter, 1_420, 2_000, 20)
    expect(meter.period(2_000).lag100).toBeCloseTo(400 / 1_000, 9)
  })

  it('ignores a frame that arrives out of order', () => {
    const meter = new FreezeMeter()
    frames(meter, 0, 2_000, 20)
    meter.frame(1_500)
    expect(meter.period(2_000)).toEqual({ lag100: 0, lag150: 0 })
  })
})
