import { describe, expect, it } from 'vitest'
import {
  chooseLayer, ESTIMATE_DOWN_HOLD_MS, ESTIMATE_SETTLE_MS, initialLayerChoice, LOSS_REACT_MS, PROBE_BACKOFF_MS, PROBE_MAX_BACKOFF_MS, PROBE_WINDOW_MS,
  UPGRADE_HOLD_MS, type LayerChoiceInput, type LayerChoiceState, type LayerView,
} from './layer-choice'

const both = (h = 1_000_000, l = 200_000): LayerView[] => [{ rid: 'h', bitrate: h, live: true }, { rid: 'l', bitrate: l, live: true }]
const input = (over: Partial<LayerChoiceInput>): LayerChoiceInput => ({ layers: both(), budget: undefined, loss: 0, preference: 'auto', nowMs: 0, ...over })
/** A slot on the high layer since t=0. */
const onHigh = (): LayerChoiceState => chooseLayer(initialLayerChoice, input({}))

describe('simulcast layer choice', () => {
  it('a new slot takes the highest live layer, whatever a first (still climbing) estimate says', () => {
    expect(chooseLayer(initialLayerChoice, input({})).target).toBe('h')
    expect(chooseLayer(initialLayerChoice, input({ budget: 300_000 })).target).toBe('h')
  })

  it('steps down on sustained loss, once the loss describes the current layer', () => {
    expect(chooseLayer(onHigh(), input({ loss: 0.3, nowMs: LOSS_REACT_MS - 1 })).target).toBe('h')
    const down = chooseLayer(onHigh(), input({ loss: 0.3, nowMs: LOSS_REACT_MS }))
    expect(down).toMatchObject({ target: 'l', holdUntil: LOSS_REACT_MS + PROBE_BACKOFF_MS })
  })

  it('probes up after a clean spell, and a probe that brings loss doubles the wait (up to the maximum)', () => {
    let s = chooseLayer(onHigh(), input({ loss: 0.3, nowMs: 1000 }))
    let now = 1000
    expect(chooseLayer(s, input({ nowMs: s.holdUntil - 1 })).target).toBe('l')
    const waits: number[] = []
    for (let round = 0; round < 5; round++) {
      now = s.holdUntil
      s = chooseLayer(s, input({ nowMs: now }))
      expect(s).toMatchObject({ target: 'h', probedAt: now })
      s = chooseLayer(s, input({ loss: 0.3, nowMs: now + LOSS_REACT_MS }))
      expect(s.target).toBe('l')
      waits.push(s.holdUntil - (now + LOSS_REACT_MS))
    }
    expect(waits).toEqual([16_000, 32_000, 64_000, PROBE_MAX_BACKOFF_MS, PROBE_MAX_BACKOFF_MS])
  })

  it('a probe that holds through its window stays, and the wait starts over', () => {
    let s = chooseLayer(onHigh(), input({ loss: 0.3, nowMs: 1000 }))
    s = chooseLayer(s, input({ nowMs: s.holdUntil }))
    const probed = s.probedAt!
    s = chooseLayer(s, input({ nowMs: probed + PROBE_WINDOW_MS }))
    expect(s).toMatchObject({ target: 'h', probedAt: null, backoffMs: PROBE_BACKOFF_MS })
  })

  it('no probe while loss is not clean; an estimate with room moves up after holding', () => {
    let s = chooseLayer(onHigh(), input({ loss: 0.3, nowMs: 1000 }))
    const from = s.holdUntil
    s = chooseLayer(s, input({ loss: 0.05, budget: 2_000_000, nowMs: from }))
    expect(s.target).toBe('l')
    s = chooseLayer(s, input({ loss: 0.05, budget: 2_000_000, nowMs: from + UPGRADE_HOLD_MS - 1 }))
    expect(s.target).toBe('l')
    s = chooseLayer(s, input({ loss: 0.05, budget: 2_000_000, nowMs: from + UPGRADE_HOLD_MS }))
    expect(s).toMatchObject({ target: 'h', probedAt: null })
  })

  it('an estimate collapsed under half the layer moves down only once settled and held', () => {
    const settled = ESTIMATE_SETTLE_MS
    expect(chooseLayer(onHigh(), input({ budget: 100_000, nowMs: settled - 1 })).target).toBe('h')
    let s = chooseLayer(onHigh(), input({ budget: 400_000, nowMs: settled }))
    expect(s.collapseSince).toBe(settled)
    s = chooseLayer(s, input({ budget: 400_000, nowMs: settled + ESTIMATE_DOWN_HOLD_MS - 1 }))
    expect(s.target).toBe('h')
    s = chooseLayer(s, input({ budget: 400_000, nowMs: settled + ESTIMATE_DOWN_HOLD_MS }))
    expect(s.target).toBe('l')
    // A dip that recovers resets the count.
    let t = chooseLayer(onHigh(), input({ budget: 400_000, nowMs: settled }))
    t = chooseLayer(t, input({ budget: 900_000, nowMs: settled + 1000 }))
    expect(chooseLayer(t, input({ budget: 400_000, nowMs: settled + ESTIMATE_DOWN_HOLD_MS })).target).toBe('h')
  })

  it('falls back to a live layer when the chosen one stops', () => {
    expect(chooseLayer(onHigh(), input({ layers: [{ rid: 'h', bitrate: 0, live: false }, { rid: 'l', bitrate: 200_000, live: true }] })).target).toBe('l')
  })

  it('keeps its target while nothing is live', () => {
    const s = onHigh()
    expect(chooseLayer(s, input({ layers: [{ rid: 'h', bitrate: 0, live: false }, { rid: 'l', bitrate: 0, live: false }] }))).toBe(s)
  })

  it('an explicit preference caps the layer whatever the budget, and falls to the lowest live one', () => {
    expect(chooseLayer(initialLayerChoice, input({ preference: 'l', budget: 10_000_000 })).target).toBe('l')
    expect(chooseLayer(initialLayerChoice, input({ preference: 'h', budget: 100 })).target).toBe('h')
    const onlyHigh: LayerView[] = [{ rid: 'h', bitrate: 1e6, live: true }, { rid: 'l', bitrate: 0, live: false }]
    expect(chooseLayer(initialLayerChoice, input({ preference: 'l', layers: onlyHigh })).target).toBe('h')
  })
})
