import { describe, expect, it } from 'vitest'
import { parseServerFrame } from './server-frames'

const errorInfo = { error: true, errorCode: 2, name: 'INVALID_PARAMETER', reason: 'bad', operation: 'publish' }

describe('parseServerFrame: the SDK entry check on coordinator frames', () => {
  it('accepts replies (ok with a result object, failed with an error) and events, keeping extra event fields', () => {
    const ok = { t: 'res', id: 1, ok: true, result: { joined: true } }
    const failed = { t: 'res', id: 2, ok: false, error: errorInfo }
    const event = { t: 'evt', event: { kind: 'message', timestamp: 5, channelName: 'lobby', message: 'hi' } }
    expect(parseServerFrame(ok)).toEqual(ok)
    expect(parseServerFrame(failed)).toEqual(failed)
    expect(parseServerFrame(event)).toEqual(event)
  })

  it.each([
    ['not an object', 'hello'],
    ['null', null],
    ['unknown frame type', { t: 'req', id: 1, op: 'login', args: {} }],
    ['reply without id', { t: 'res', ok: true, result: {} }],
    ['reply with a string id', { t: 'res', id: '1', ok: true, result: {} }],
    ['ok reply whose result is not an object', { t: 'res', id: 1, ok: true, result: 3 }],
    ['ok reply whose result is an array', { t: 'res', id: 1, ok: true, result: [1] }],
    ['failed reply without error', { t: 'res', id: 1, ok: false }],
    ['failed reply with a partial error', { t: 'res', id: 1, ok: false, error: { ...errorInfo, reason: undefined } }],
    ['error not marked as an error', { t: 'res', id: 1, ok: false, error: { ...errorInfo, error: false } }],
    ['event without kind', { t: 'evt', event: { timestamp: 1 } }],
    ['event kind over 64 characters', { t: 'evt', event: { kind: 'k'.repeat(65), timestamp: 1 } }],
    ['event without timestamp', { t: 'evt', event: { kind: 'message' } }],
    ['event body not an object', { t: 'evt', event: 'message' }],
  ])('rejects %s', (_label, frame) => {
    expect(parseServerFrame(frame)).toBeNull()
  })

  it('accepts an event kind of exactly 64 characters', () => {
    expect(parseServerFrame({ t: 'evt', event: { kind: 'k'.repeat(64), timestamp: 1 } })).not.toBeNull()
  })
})
