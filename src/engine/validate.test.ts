import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { byteLength } from './validate'

const encoder = new TextEncoder()

describe('byteLength', () => {
  it('counts what TextEncoder writes for any string, lone surrogates included', () => {
    for (const sample of ['', 'abc', 'é', '€', '😀', 'a😀b', '\ud800', '\udc00x', '\ud800\ud800\udc00', 'x\ud83d']) {
      expect(byteLength(sample)).toBe(encoder.encode(sample).length)
    }
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 127 }), (text) => byteLength(text) === encoder.encode(text).length))
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 50 }), (text) => byteLength(text) === encoder.encode(text).length))
  })

  it('takes the size of bytes as they are', () => {
    expect(byteLength(new Uint8Array(7))).toBe(7)
    expect(byteLength('é'.repeat(1000))).toBe(2000)
  })
})
