import type { LayerRid } from '../../protocol/sfu'

/**
 * Which simulcast layer of one publisher a viewer's slot should carry. Pure: the caller
 * measures (layer bitrates, the viewer's bandwidth estimate and loss) and keeps the state.
 *
 * Loss is the signal that moves a slot down. The viewer's REMB estimate follows what it
 * receives (Chrome caps it near 1.5× the incoming rate and grows it some 8 % a second), so
 * a viewer on the low layer would never report room for the high one: the slot probes up
 * instead, after a clean spell, and backs off (doubling) when the probe brings loss. REMB
 * still moves a slot up early when it shows room, and down when it collapses.
 */

/** A layer is live when a packet of it arrived within this long. */
export const LAYER_LIVE_MS = 1000
/** Upgrade early when the higher layer fits the estimate with this much room to spare… */
export const UPGRADE_HEADROOM = 1.25
/** …and has kept fitting this long (an estimate that jumps for a moment does not flap layers). */
export const UPGRADE_HOLD_MS = 3000
/** Smoothed fraction lost above which the slot steps one layer down. */
export const LOSS_DOWNGRADE = 0.1
/** Loss reported this soon after a change is the previous layer's. */
export const LOSS_REACT_MS = 1000
/** A probe up waits for loss under this… */
export const PROBE_CLEAN_LOSS = 0.02
/** …and this long after a step down; doubled after each failed probe, up to PROBE_MAX_BACKOFF_MS. */
export const PROBE_BACKOFF_MS = 8000
export const PROBE_MAX_BACKOFF_MS = 64_000
/** A probe that has not stepped down within this long succeeded (the backoff resets). */
export const PROBE_WINDOW_MS = 5000
/** The estimate moves a slot down only below this share of its layer's bitrate, for ESTIMATE_DOWN_HOLD_MS… */
export const ESTIMATE_COLLAPSE = 0.5
export const ESTIMATE_DOWN_HOLD_MS = 3000
/** …and not this soon after a change (a new slot's or a probed layer's estimate is still climbing). */
export const ESTIMATE_SETTLE_MS = 20_000

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
  /** When the target last changed. */
  changedAt: number
  /** Since when a higher layer has fitted the estimate with room (early upgrade). */
  upgradeSince: number | null
  /** Since when the estimate has collapsed under the current layer. */
  collapseSince: number | null
  /** No upgrade (early or probe) before this time. */
  holdUntil: number
  /** The wait after the next step down. */
  backoffMs: number
  /** When the slot last probed up, while that probe is on trial. */
  probedAt: number | null
}

export const initialLayerChoice: LayerChoiceState = {
  target: null, changedAt: 0, upgradeSince: null, collapseSince: null, holdUntil: 0, backoffMs: PROBE_BACKOFF_MS, probedAt: null,
}

export function chooseLayer(state: LayerChoiceState, input: LayerChoiceInput): LayerChoiceState {
  const live = input.layers.filter((layer) => layer.live)
  if (live.length === 0) return state
  const { nowMs, budget, loss } = input
  const rank = (rid: LayerRid | null) => input.layers.findIndex((layer) => layer.rid === rid)
  const lowest = live[live.length - 1]
  const moveTo = (rid: LayerRid, changes: Partial<LayerChoiceState> = {}): LayerChoiceState =>
    ({ ...state, target: rid, changedAt: rid === state.target ? state.changedAt : nowMs, upgradeSince: null, collapseSince: null, ...changes })

  if (input.preference !== 'auto') {
    // A preference caps: the best live layer at or below it; the lowest live one if none is.
    const cap = rank(input.preference)
    return moveTo((live.find((layer) => rank(layer.rid) >= cap) ?? lowest).rid, { probedAt: null })
  }

  const current = live.find((layer) => layer.rid === state.target)
  // Nothing forwarded yet: the top live layer (a new slot's estimate is still climbing). Its layer stopped: the best live one that fits.
  if (!current) {
    const fits = state.target === null ? live[0] : live.find((layer) => budget === undefined || layer.bitrate <= budget) ?? lowest
    return moveTo(fits.rid)
  }
  const higher = [...live].reverse().find((layer) => rank(layer.rid) < rank(current.rid))
  const lower = live.find((layer) => rank(layer.rid) > rank(current.rid))
  const probing = state.probedAt !== null && nowMs - state.probedAt < PROBE_WINDOW_MS

  const stepDown = (to: LayerView): LayerChoiceState => {
    // A probe that brought loss waits twice as long next time; otherwise the wait starts over.
    const backoffMs = probing ? Math.min(state.backoffMs * 2, PROBE_MAX_BACKOFF_MS) : state.backoffMs
    return moveTo(to.rid, { holdUntil: nowMs + backoffMs, backoffMs, probedAt: null })
  }
  // Loss just after a change still describes the layer before it.
  if (lower && loss > LOSS_DOWNGRADE && nowMs - state.changedAt >= LOSS_REACT_MS) return stepDown(lower)

  // The estimate collapsed under the current layer, and stayed there, once it had time to settle.
  const collapsed = budget !== undefined && budget < current.bitrate * ESTIMATE_COLLAPSE && nowMs - state.changedAt >= ESTIMATE_SETTLE_MS
  const collapseSince = collapsed ? state.collapseSince ?? nowMs : null
  if (lower && collapseSince !== null && nowMs - collapseSince >= ESTIMATE_DOWN_HOLD_MS) {
    return stepDown(live.find((layer) => rank(layer.rid) > rank(current.rid) && layer.bitrate <= budget!) ?? lowest)
  }

  // A probe that held through its window: the next step down starts from the base wait.
  const settled = state.probedAt !== null && !probing ? { probedAt: null, backoffMs: PROBE_BACKOFF_MS } : {}
  if (higher && nowMs >= state.holdUntil) {
    const roomy = budget !== undefined && higher.bitrate * UPGRADE_HEADROOM <= budget
    const upgradeSince = roomy ? state.upgradeSince ?? nowMs : null
    if (upgradeSince !== null && nowMs - upgradeSince >= UPGRADE_HOLD_MS) return moveTo(higher.rid, { ...settled, probedAt: null })
    if (loss < PROBE_CLEAN_LOSS) return moveTo(higher.rid, { ...settled, probedAt: nowMs })
    return { ...state, ...settled, upgradeSince, collapseSince }
  }
  return { ...state, ...settled, collapseSince }
}
