import { describe, expect, it } from 'vitest'
import { frameText, summarise } from './frames'

describe('event log frame summaries', () => {
  it('labels a reply with the op of its request, and an error reply with its code', () => {
    const ops = new Map<number, string>()
    expect(summarise('out', { t: 'req', id: 7, op: 'publish', args: {} }, 1, 1, ops)).toMatchObject({ type: 'req', label: 'publish', outcome: '' })
    expect(summarise('in', { t: 'res', id: 7, ok: false, error: { errorCode: -11010 } }, 2, 2, ops)).toMatchObject({ type: 'res', label: 'publish', outcome: '-11010' })
    expect(ops.size).toBe(0)
  })

  it('labels an event with its kind', () => {
    expect(summarise('in', { t: 'evt', event: { kind: 'presence' } }, 1, 1, new Map())).toMatchObject({ type: 'evt', label: 'presence' })
  })

  it('shows binary payloads as byte counts, not bytes', () => {
    const text = frameText({ t: 'req', args: { message: new Uint8Array(32 * 1024), raw: new ArrayBuffer(3) } })
    expect(text).toContain('<32768 bytes>')
    expect(text).toContain('<3 bytes>')
    expect(text.length).toBeLessThan(200)
  })

  it('hides credentials', () => {
    const text = frameText({ t: 'req', op: 'login', args: { token: 'eyJhbGciOi.secret', userId: 'a' } })
    expect(text).not.toContain('secret')
    expect(text).toContain('"token":"<redacted>"')
    expect(frameText({ result: { resumeKey: 'abc123' } })).not.toContain('abc123')
  })

  it('cuts long strings and survives frames JSON cannot print', () => {
    expect(frameText({ text: 'x'.repeat(5000) }, 10)).toContain('… (5000 chars)')
    const loop: Record<string, unknown> = {}
    loop.self = loop
    expect(frameText(loop)).toMatch(/^<unprintable frame/)
  })

  it('does not remember requests without end when replies never come', () => {
    const ops = new Map<number, string>()
    for (let id = 0; id < 1500; id++) summarise('out', { t: 'req', id, op: 'heartbeat' }, id, id, ops)
    expect(ops.size).toBeLessThanOrEqual(1000)
  })
})
