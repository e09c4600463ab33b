import { describe, expect, it } from 'vitest'
import { isVp8KeyframeStart } from './vp8'

describe('VP8 keyframe detection', () => {
  it('a first packet with the P bit clear is a keyframe start', () => {
    expect(isVp8KeyframeStart(Uint8Array.from([0x10, 0x00, 0x9d]))).toBe(true)
  })
  it('an interframe (P bit set) is not', () => {
    expect(isVp8KeyframeStart(Uint8Array.from([0x10, 0x01]))).toBe(false)
  })
  it('a continuation packet of a keyframe is not a start', () => {
    expect(isVp8KeyframeStart(Uint8Array.from([0x00, 0x00]))).toBe(false)
  })
  it('skips a 15-bit PictureID, TL0PICIDX and TID before the payload header', () => {
    // X=1,S=1 | I,L,T | M=1 PictureID (2 bytes) | TL0PICIDX | TID | P=0
    expect(isVp8KeyframeStart(Uint8Array.from([0x90, 0xe0, 0x80, 0x01, 0x05, 0x20, 0x00]))).toBe(true)
    expect(isVp8KeyframeStart(Uint8Array.from([0x90, 0xe0, 0x80, 0x01, 0x05, 0x20, 0x01]))).toBe(false)
  })
  it('a 7-bit PictureID is one byte', () => {
    expect(isVp8KeyframeStart(Uint8Array.from([0x90, 0x80, 0x05, 0x00]))).toBe(true)
  })
  it('truncated packets are not keyframes', () => {
    expect(isVp8KeyframeStart(Uint8Array.from([]))).toBe(false)
    expect(isVp8KeyframeStart(Uint8Array.from([0x90, 0x80]))).toBe(false)
  })
})
