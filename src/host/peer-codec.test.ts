import { describe, expect, it } from 'vitest'
import { CHUNK_CHARS, MAX_ENVELOPE_DEPTH, PeerMessageDecoder, encodePeerMessage } from './peer-codec'

function roundTrip(value: unknown, maxChars = 1024 * 1024): unknown {
  const decoder = new PeerMessageDecoder(maxChars)
  const results = encodePeerMessage(value).map((piece) => decoder.push(piece))
  const last = results.pop()!
  expect(results.every((result) => result.kind === 'partial')).toBe(true)
  if (last.kind !== 'value') throw new Error(`not decoded: ${JSON.stringify(last)}`)
  return last.value
}

describe('the mesh data channel codec', () => {
  it('carries an envelope with binary message bytes and leaves absent fields out', () => {
    const bytes = new Uint8Array([0, 1, 254, 255])
    const envelope = { kind: 'req', from: 'a', to: 'b', link: 'l', frame: { t: 'req', id: 1, op: 'publish', args: { message: bytes, options: undefined } } }
    const decoded = roundTrip(envelope) as { frame: { args: Record<string, unknown> } }
    expect(decoded.frame.args.message).toBeInstanceOf(Uint8Array)
    expect(Array.from(decoded.frame.args.message as Uint8Array)).toEqual([0, 1, 254, 255])
    expect('options' in decoded.frame.args).toBe(false)
  })

  it('gives back a user object shaped like a bytes marker as that object', () => {
    const value = { a: { $bytes: 'AAEC' }, b: { $plain: { $bytes: 'x' } }, c: [{ $bytes: 'zz' }] }
    expect(roundTrip(value)).toEqual(value)
  })

  it('splits a large message into pieces and reassembles it', () => {
    const value = { big: 'x'.repeat(CHUNK_CHARS * 3 + 5), bytes: new Uint8Array(70_000).fill(7) }
    expect(encodePeerMessage(value).length).toBeGreaterThan(3)
    const decoded = roundTrip(value) as { big: string; bytes: Uint8Array }
    expect(decoded.big).toBe(value.big)
    expect(decoded.bytes.length).toBe(70_000)
  })

  it('drops what a hostile peer sends without throwing: null, binary, the 5-byte BinaryPack map header, bad JSON', () => {
    const decoder = new PeerMessageDecoder(1024 * 1024)
    for (const data of [null, undefined, 'null', new Uint8Array([0xdf, 0xff, 0xff, 0xff, 0xff]).buffer, '=', '={', '=nul', 42]) {
      expect(decoder.push(data).kind).toBe('bad')
    }
    // null as our own JSON is a value (the envelope schema refuses it next), not an exception.
    expect(decoder.push('=null')).toEqual({ kind: 'value', value: null })
    expect(decoder.push('={"x":{"$bytes":"%%%"}}').kind).toBe('bad')
  })

  it('refuses an envelope nested past its depth bound (not counting the frame the host bounds), and a message over the size bound even in small pieces', () => {
    const decoder = new PeerMessageDecoder(100)
    const deep = '['.repeat(MAX_ENVELOPE_DEPTH + 1) + ']'.repeat(MAX_ENVELOPE_DEPTH + 1)
    expect(new PeerMessageDecoder(1024 * 1024).push(`=${deep}`)).toMatchObject({ kind: 'bad', reason: expect.stringContaining('nested') })
    expect(new PeerMessageDecoder(1024 * 1024).push(`={"kind":"req","link":${deep}}`)).toMatchObject({ kind: 'bad' })
    // A request's frame is left to the host, which answers a too-deep one with an error code.
    const deepFrame = new PeerMessageDecoder(1024 * 1024).push(`={"kind":"req","frame":${'['.repeat(20_000)}{"$bytes":"AA=="}${']'.repeat(20_000)}}`)
    expect(deepFrame.kind).toBe('value')
    for (let index = 0; index < 10; index++) expect(decoder.push(`+${'"'.repeat(20)}`).kind).toBe('partial')
    expect(decoder.push('="x"')).toMatchObject({ kind: 'bad', reason: expect.stringContaining('larger') })
    // The next message decodes again.
    expect(decoder.push('="ok"')).toEqual({ kind: 'value', value: 'ok' })
  })

  it('keeps a __proto__ key as plain data', () => {
    const decoded = roundTrip(JSON.parse('{"__proto__":{"polluted":1}}')) as Record<string, unknown>
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype)
    expect(Object.keys(decoded)).toEqual(['__proto__'])
  })
})
