import { afterEach, describe, expect, it, vi } from 'vitest'
import { DIAGNOSE_REPLY, DIAGNOSE_REQUEST, FIELD_TIMEOUT_MS, FieldRequests, coordinatorLinkWords, type MediaEnd } from './link-diagnosis'
import type { FieldDiagnosis } from './types'

const field: FieldDiagnosis = {
  field_mode: 'p2p', signal_connect: 'ok', media_connect: 'ok', video_transfer: 'ok', video_capture: 'ok', video_encode: 'ok',
  rtt: [12, 14], lost: [0, 0], bps: [900, 950], fps: [30, 30],
}

describe('asking the other party for its send side', () => {
  afterEach(() => { vi.useRealTimers() })

  it('resolves with the answer to its own request, by id', async () => {
    const requests = new FieldRequests()
    const sent: { id: string }[] = []
    const asked = requests.ask(async (data) => { sent.push(data) })
    await Promise.resolve()
    requests.answered({ id: 'other', field })
    requests.answered({ id: sent[0]!.id, field })
    expect(await asked).toEqual(field)
  })

  it('null after FIELD_TIMEOUT_MS without an answer, at once when the request cannot be sent, and when cleared', async () => {
    vi.useFakeTimers()
    const requests = new FieldRequests()
    const silent = requests.ask(async () => undefined)
    vi.advanceTimersByTime(FIELD_TIMEOUT_MS)
    expect(await silent).toBeNull()
    expect(await requests.ask(() => Promise.reject(new Error('not in a call')))).toBeNull()
    const ended = requests.ask(async () => undefined)
    requests.clear()
    expect(await ended).toBeNull()
    expect(vi.getTimerCount()).toBe(0)
  })

  it('ignores a malformed or oversized answer (it comes from another client) and keeps waiting', async () => {
    vi.useFakeTimers()
    const requests = new FieldRequests()
    let id = ''
    const asked = requests.ask(async (data) => { id = data.id })
    await Promise.resolve()
    for (const bad of [null, 'x', { id }, { id, field: { ...field, rtt: 'fast' } }, { id, field: { ...field, video_transfer: 'x'.repeat(201) } }, { id, field: { ...field, fps: Array(65).fill(1) } }, { id, field: { ...field, lost: [Number.NaN] } }]) {
      requests.answered(bad)
    }
    requests.answered({ id, field: { ...field, extra: 'dropped' } })
    expect(await asked).toEqual(field)
  })
})

describe('answering the other party', () => {
  const noMedia: MediaEnd = { stats: null, pc: null, signalConnected: true, camera: null }

  it('answers a request with our send side under its id; ignores a request without a usable id', async () => {
    const requests = new FieldRequests()
    const replies: unknown[] = []
    const reply = async (data: unknown) => { replies.push(data) }
    requests.received(DIAGNOSE_REQUEST, { id: 'd7' }, () => noMedia, reply)
    for (const bad of [null, [], { id: 3 }, { id: 'x'.repeat(33) }]) requests.received(DIAGNOSE_REQUEST, bad, () => noMedia, reply)
    requests.received('something else', { id: 'd8' }, () => noMedia, reply)
    expect(replies).toEqual([{ id: 'd7', field: expect.objectContaining({ signal_connect: 'ok', media_connect: 'no media connection', video_capture: 'no camera' }) }])
  })

  it('takes a reply as the answer to our request', async () => {
    const requests = new FieldRequests()
    let id = ''
    const asked = requests.ask(async (data) => { id = data.id })
    await Promise.resolve()
    requests.received(DIAGNOSE_REPLY, { id, field }, () => noMedia, async () => undefined)
    expect(await asked).toEqual(field)
  })
})

describe('words', () => {
  it('names the link to the coordinator', () => {
    expect(coordinatorLinkWords('CONNECTED')).toBe('ok')
    expect(coordinatorLinkWords('DISCONNECTED')).toBe('the link to the coordinator is disconnected')
    expect(coordinatorLinkWords('IDLE')).toBe('not logged in')
  })
})
