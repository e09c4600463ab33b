import { describe, expect, it } from 'vitest'
import { SFU_NOTIFY } from '../../protocol/sfu'
import { parseSfuSignal } from './sfu-signals'

describe('a member signal as the SFU reads it', () => {
  it('takes a candidate as an object or as the bare line seed 003 allows', () => {
    const line = 'candidate:1 1 udp 2122260223 10.0.0.1 50000 typ host'
    expect(parseSfuSignal({ s: 'CANDIDATE', side: 'subscriber', candidate: line })).toEqual({ ok: true, s: 'CANDIDATE', side: 'subscriber', candidate: { candidate: line } })
    expect(parseSfuSignal({ s: 'CANDIDATE', side: 'publisher', candidate: { candidate: line, sdpMid: '0', sdpMLineIndex: 0 } }))
      .toEqual({ ok: true, s: 'CANDIDATE', side: 'publisher', candidate: { candidate: line, sdpMid: '0', sdpMLineIndex: 0 } })
    expect(parseSfuSignal({ s: 'CANDIDATE', side: 'publisher', candidate: 7 })).toEqual({ ok: false, side: 'publisher', reason: 'CANDIDATE without a candidate' })
  })

  it('refuses an offer or answer that is no session description, and ignores a NOTIFY it does not know', () => {
    expect(parseSfuSignal({ s: 'ANSWER', sdp: 'hello' })).toMatchObject({ ok: false, side: 'subscriber' })
    expect(parseSfuSignal({ s: 'OFFER', sdp: { type: 'offer', sdp: 'v=0\r\n' } })).toEqual({ ok: true, s: 'OFFER', sdp: 'v=0\r\n' })
    expect(parseSfuSignal({ s: 'NOTIFY', type: SFU_NOTIFY.layer, data: { sessionId: 'bo', layer: 'x' } })).toEqual({ ok: true, s: 'NOTIFY', type: 'ignored' })
    expect(parseSfuSignal({ s: 'NOTIFY', type: SFU_NOTIFY.layer, data: { sessionId: 'bo', layer: 'l' } })).toEqual({ ok: true, s: 'NOTIFY', type: SFU_NOTIFY.layer, publisher: 'bo', layer: 'l' })
  })
})
