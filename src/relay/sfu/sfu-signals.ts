import { SFU_NOTIFY, SIMULCAST_LAYERS, type LayerRid } from '../../protocol/sfu'
import type { SfuSignal } from './sfu-ipc'

/**
 * A member's signal to the SFU as the room acts on it. The relay validated the frame's shape
 * (protocol/rooms.ts); this reads the parts the SFU needs and says which connection a bad
 * one belongs to.
 */
export type MemberSignal =
  | { ok: true; s: 'ANSWER' | 'OFFER'; sdp: string }
  | { ok: true; s: 'CANDIDATE'; side: 'publisher' | 'subscriber'; candidate: { candidate: string; sdpMid?: string; sdpMLineIndex?: number } }
  | { ok: true; s: 'NOTIFY'; type: typeof SFU_NOTIFY.layer; publisher: string; layer: LayerRid | 'auto' }
  | { ok: true; s: 'NOTIFY'; type: typeof SFU_NOTIFY.keyframe; publisher: string }
  | { ok: false; side: 'publisher' | 'subscriber'; reason: string }

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null

/** `sdp` as `{type, sdp}` or a bare string. */
function sdpText(value: unknown): string | null {
  if (typeof value === 'string') return value
  if (isRecord(value) && typeof value.sdp === 'string') return value.sdp
  return null
}

export function parseSfuSignal(signal: SfuSignal): MemberSignal | { ok: true; s: 'NOTIFY'; type: 'ignored' } {
  switch (signal.s) {
    case 'ANSWER':
    case 'OFFER': {
      const side = signal.s === 'ANSWER' ? 'subscriber' : 'publisher'
      const sdp = sdpText(signal.sdp)
      if (sdp === null || !sdp.startsWith('v=0')) return { ok: false, side, reason: `${signal.s} without a session description` }
      return { ok: true, s: signal.s, sdp }
    }
    case 'CANDIDATE': {
      const side = signal.side === 'publisher' ? 'publisher' : 'subscriber'
      // Seed 003 allows the candidate line alone (protocol/rtc-values.ts iceCandidateSchema).
      const c = typeof signal.candidate === 'string' ? { candidate: signal.candidate } : signal.candidate
      if (!isRecord(c) || typeof c.candidate !== 'string') return { ok: false, side, reason: 'CANDIDATE without a candidate' }
      return {
        ok: true, s: 'CANDIDATE', side,
        candidate: {
          candidate: c.candidate,
          ...(typeof c.sdpMid === 'string' ? { sdpMid: c.sdpMid } : {}),
          ...(typeof c.sdpMLineIndex === 'number' ? { sdpMLineIndex: c.sdpMLineIndex } : {}),
        },
      }
    }
    case 'NOTIFY': {
      const data = isRecord(signal.data) ? signal.data : {}
      const publisher = typeof data.sessionId === 'string' ? data.sessionId : null
      if (publisher === null) return { ok: true, s: 'NOTIFY', type: 'ignored' }
      if (signal.type === SFU_NOTIFY.keyframe) return { ok: true, s: 'NOTIFY', type: SFU_NOTIFY.keyframe, publisher }
      if (signal.type === SFU_NOTIFY.layer) {
        const layer = data.layer === 'auto' || SIMULCAST_LAYERS.some((l) => l.rid === data.layer) ? (data.layer as LayerRid | 'auto') : null
        if (layer === null) return { ok: true, s: 'NOTIFY', type: 'ignored' }
        return { ok: true, s: 'NOTIFY', type: SFU_NOTIFY.layer, publisher, layer }
      }
      return { ok: true, s: 'NOTIFY', type: 'ignored' }
    }
    default:
      return { ok: true, s: 'NOTIFY', type: 'ignored' }
  }
}
