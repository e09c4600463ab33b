import type { LayerRid } from '../../protocol/sfu'

/**
 * Which simulcast layer of one publisher a viewer's slot should carry. Pure: the caller
 * measures (layer bitrates, the viewer's bandwidth estimate and loss) and keeps the state.
 */

/** A layer is live when a packet of it arrived within this long. */
export const LAYER_LIVE_MS = 1000
/** Upgrade only when the higher layer fits with this much room to spare. */
export const UPGRADE_HEADROOM = 1.25
/** …and has kept fitting this long (an estimate that jumps for a moment does not flap layers). */
export const UPGRADE_HOLD_MS = 3000
/** Smoothed fraction lost above which the slot steps one layer down. */
export const LOSS_DOWNGRADE = 0.1
/** After a loss downgrade, no upgrade for this long. */
export const LOSS_HOLD_MS = 8000

/** One layer as measured, highest first (SIMULCAST_LAYERS order). */
export interface LayerView { rid: LayerRid; bitrate: number; live: boolean }

export interface LayerChoiceInput {
  layers: readonly LayerView[]
  /** Bandwidth this slot may use (the viewer's estimate shared among its slots), bit/s; undefined = unknown, no limit. */
  budget: number | undefined
  /** Smoothed fraction of packets the viewer reports lost on this slot, 0..1. */
  loss: number
  /** The viewer's explicit wish (`sfu.layer`): a rid caps the choice, 'auto' leaves it to bandwidth. */
  preference: LayerRid | 'auto'
  nowMs: number
}

export interface LayerChoiceState {
  /** The layer the slot should carry; null before any layer was ever live. */
  target: LayerRid | null
  /** Since when a higher layer has fitted (upgrade hysteresis). */
  upgradeSince: number | null
  /** No upgrades before this time (after a loss downgrade). */
  holdUntil: number
}

export const initialLayerChoice: LayerChoiceState = { target: null, upgradeSince: null, holdUntil: 0 }

export function chooseLayer(state: LayerChoiceState, input: LayerChoiceInput): LayerChoiceState {
  const live = input.layers.filter((layer) => layer.live)
  if (live.length === 0) return state
  const rank = (rid: LayerRid | null) => input.layers.findIndex((layer) => layer.rid === rid)
  const lowest = live[live.length - 1]

  if (input.preference !== 'auto') {
    // A preference caps: the best live layer at or below it; the lowest live one if none is.
    const cap = rank(input.preference)
    const pick = live.find((layer) => rank(layer.rid) >= cap) ?? lowest
    return { target: pick.rid, upgradeSince: null, holdUntil: state.holdUntil }
  }

  const { budget } = input
  const fitsLoosely = (layer: LayerView) => budget === undefined || layer.bitrate <= budget
  const fitsWithRoom = (layer: LayerView) => budget === undefined || layer.bitrate * UPGRADE_HEADROOM <= budget
  const best = live.find(fitsWithRoom) ?? lowest
  const current = live.find((layer) => layer.rid === state.target)

  // Nothing forwarded yet, or its layer stopped: take the best live one at once.
  if (!current) return { target: best.rid, upgradeSince: null, holdUntil: state.holdUntil }

  if (input.loss > LOSS_DOWNGRADE && input.nowMs >= state.holdUntil) {
    const lower = live.find((layer) => rank(layer.rid) > rank(current.rid))
    if (lower) return { target: lower.rid, upgradeSince: null, holdUntil: input.nowMs + LOSS_HOLD_MS }
  }

  // Down at once when the current layer no longer fits at all.
  if (!fitsLoosely(current)) {
    const lower = live.find((layer) => rank(layer.rid) > rank(current.rid) && fitsLoosely(layer)) ?? lowest
    return { target: lower.rid, upgradeSince: null, holdUntil: state.holdUntil }
  }

  // Up only after the higher layer has fitted with room for UPGRADE_HOLD_MS.
  if (rank(best.rid) < rank(current.rid) && input.nowMs >= state.holdUntil) {
    const since = state.upgradeSince ?? input.nowMs
    if (input.nowMs - since >= UPGRADE_HOLD_MS) return { target: best.rid, upgradeSince: null, holdUntil: state.holdUntil }
    return { target: current.rid, upgradeSince: since, holdUntil: state.holdUntil }
  }
  return { target: current.rid, upgradeSince: null, holdUntil: state.holdUntil }
}
