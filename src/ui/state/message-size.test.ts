import { describe, expect, it } from 'vitest'
import { MAX_MESSAGE_BYTES } from '../../engine/app-engine'
import { byteLength } from '../../engine/validate'
import { kilobytes, measureMessage, MESSAGE_LIMIT_BYTES, utf8Bytes } from './message-size'

describe('the message size check before sending', () => {
  it('uses the limit the coordinator enforces (seed 000: 32 KB)', () => {
    expect(MESSAGE_LIMIT_BYTES).toBe(MAX_MESSAGE_BYTES)
    expect(MESSAGE_LIMIT_BYTES).toBe(32 * 1024)
  })

  it('counts UTF-8 bytes as the engine does, not characters', () => {
    for (const text of ['', 'hello', 'héllo', '日本語', '👋🏽 hi', 'a\ud800b', 'x'.repeat(300) + 'é']) {
      expect(utf8Bytes(text), text).toBe(byteLength(text))
    }
    expect(utf8Bytes('€')).toBe(3)
  })

  it('says nothing about a short message', () => {
    expect(measureMessage('hi')).toEqual({ bytes: 2, over: false, label: '' })
  })

  it('counts near the limit', () => {
    const size = measureMessage('x'.repeat(30 * 1024))
    expect(size.over).toBe(false)
    expect(size.label).toBe('30 KB of 32 KB')
  })

  it('refuses a message over the limit, in words with both sizes', () => {
    expect(measureMessage('x'.repeat(40 * 1024))).toMatchObject({ over: true, label: 'Message too long — 40 KB of 32 KB' })
    // Exactly at the limit is allowed; one byte more is not, and does not read as "32 KB of 32 KB".
    expect(measureMessage('x'.repeat(32 * 1024)).over).toBe(false)
    expect(measureMessage('x'.repeat(32 * 1024 + 1))).toMatchObject({ over: true, label: 'Message too long — 32.1 KB of 32 KB' })
    // 11 000 three-byte characters: 33 000 bytes although only 11 000 characters.
    expect(measureMessage('€'.repeat(11_000))).toMatchObject({ over: true, label: 'Message too long — 32.3 KB of 32 KB' })
  })

  it('rounds sizes up to a tenth of a KB', () => {
    expect(kilobytes(1024)).toBe('1 KB')
    expect(kilobytes(1025)).toBe('1.1 KB')
    expect(kilobytes(1536)).toBe('1.5 KB')
  })
})
