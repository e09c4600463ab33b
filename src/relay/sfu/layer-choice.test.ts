import { describe, expect, it } from 'vitest'
import { chooseLayer, initialLayerChoice, LOSS_HOLD_MS, UPGRADE_HOLD_MS, type LayerChoiceInput, type LayerView } from './layer-choice'

const both = (h = 1_000_000, l = 200_000): LayerView[] => [{ rid: 'h', bitrate: h, live: true }, { rid: 'l', bitrate: l, live: true }]
const input = (over: Partial<LayerChoiceInput>): LayerChoiceInput => ({ layers: both(), budget: undefined, loss: 0, preference: 'auto', nowMs: 0, ...over })

describe('simulcast layer choice', () => {
  it('with no bandwidth estimate yet, the highest live layer', () => {
    expect(chooseLayer(initialLayerChoice, input({})).target).toBe('h')
  })

  it('the highest layer that fits the budget with room to spare', () => {
    expect(chooseLayer(initialLayerChoice, input({ budget: 1_100_000 })).target).toBe('l')
    expect(chooseLayer(initialLayerChoice, input({ budget: 1_300_000 })).target).toBe('h')
  })

  it('downgrades at once when the current layer no longer fits', () => {
    const onHigh = chooseLayer(initialLayerChoice, input({}))
    expect(chooseLayer(onHigh, input({ budget: 900_000, nowMs: 10 })).target).toBe('l')
  })

  it('upgrades only after the higher layer has fitted for the hold time', () => {
    let s = chooseLayer(initialLayerChoice, input({ budget: 500_000 }))
    expect(s.target).toBe('l')
    s = chooseLayer(s, input({ budget: 5_000_000, nowMs: 1000 }))
    expect(s.target).toBe('l')
    s = chooseLayer(s, input({ budget: 500_000, nowMs: 2000 }))
    s = chooseLayer(s, input({ budget: 5_000_000, nowMs: 2500 }))
    s = chooseLayer(s, input({ budget: 5_000_000, nowMs: 2500 + UPGRADE_HOLD_MS - 1 }))
    expect(s.target).toBe('l')
    s = chooseLayer(s, input({ budget: 5_000_000, nowMs: 2500 + UPGRADE_HOLD_MS }))
    expect(s.target).toBe('h')
  })

  it('sustained loss steps down one layer and holds upgrades off', () => {
    let s = chooseLayer(initialLayerChoice, input({}))
    s = chooseLayer(s, input({ loss: 0.2, nowMs: 100 }))
    expect(s.target).toBe('l')
    s = chooseLayer(s, input({ loss: 0, nowMs: 100 + LOSS_HOLD_MS - 1 }))
    expect(s.target).toBe('l')
    s = chooseLayer(s, input({ loss: 0, nowMs: 100 + LOSS_HOLD_MS }))
    s = chooseLayer(s, input({ loss: 0, nowMs: 100 + LOSS_HOLD_MS + UPGRADE_HOLD_MS }))
    expect(s.target).toBe('h')
  })

  it('falls back to a live layer when the chosen one stops', () => {
    const s = chooseLayer(initialLayerChoice, input({}))
    expect(chooseLayer(s, input({ layers: [{ rid: 'h', bitrate: 0, live: false }, { rid: 'l', bitrate: 200_000, live: true }] })).target).toBe('l')
  })

  it('keeps its target while nothing is live', () => {
    const s = chooseLayer(initialLayerChoice, input({}))
    expect(chooseLayer(s, input({ layers: [{ rid: 'h', bitrate: 0, live: false }, { rid: 'l', bitrate: 0, live: false }] }))).toBe(s)
  })

  it('an explicit preference caps the layer whatever the budget, and falls to the lowest live one', () => {
    expect(chooseLayer(initialLayerChoice, input({ preference: 'l', budget: 10_000_000 })).target).toBe('l')
    expect(chooseLayer(initialLayerChoice, input({ preference: 'h', budget: 100 })).target).toBe('h')
    const onlyHigh: LayerView[] = [{ rid: 'h', bitrate: 1e6, live: true }, { rid: 'l', bitrate: 0, live: false }]
    expect(chooseLayer(initialLayerChoice, input({ preference: 'l', layers: onlyHigh })).target).toBe('h')
  })
})
