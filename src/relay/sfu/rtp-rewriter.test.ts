import { describe, expect, it } from 'vitest'
import { RtpRewriter, seqDiff } from './rtp-rewriter'

describe('RTP rewriting of one slot', () => {
  it('the first source passes through unchanged', () => {
    const r = new RtpRewriter(90_000)
    expect(r.rewrite(100, 5000, 0)).toEqual({ sequenceNumber: 100, timestamp: 5000 })
    expect(r.rewrite(101, 8000, 33)).toEqual({ sequenceNumber: 101, timestamp: 8000 })
  })

  it('after a switch the sequence continues at +1 and the timestamp by the time that passed', () => {
    const r = new RtpRewriter(90_000)
    r.rewrite(100, 5000, 0)
    r.switchSource()
    expect(r.rewrite(40_000, 1_000_000, 100)).toEqual({ sequenceNumber: 101, timestamp: 5000 + 9000 })
    expect(r.rewrite(40_001, 1_003_000, 133)).toEqual({ sequenceNumber: 102, timestamp: 8000 + 9000 })
  })

  it('the timestamp moves at least one tick even with no time passing', () => {
    const r = new RtpRewriter(48_000)
    r.rewrite(1, 960, 10)
    r.switchSource()
    expect(r.rewrite(500, 0, 10)).toEqual({ sequenceNumber: 2, timestamp: 961 })
  })

  it('wraps sequence numbers and timestamps', () => {
    const r = new RtpRewriter(90_000)
    r.rewrite(65_535, 0xffff_fff0, 0)
    r.switchSource()
    expect(r.rewrite(7, 0, 1)).toEqual({ sequenceNumber: 0, timestamp: (0xffff_fff0 + 90) % 2 ** 32 })
  })

  it('a late packet of the new source from before its first one is dropped; reordering after it is kept', () => {
    const r = new RtpRewriter(90_000)
    r.rewrite(10, 0, 0)
    r.switchSource()
    expect(r.rewrite(200, 0, 10)).toEqual({ sequenceNumber: 11, timestamp: 900 })
    expect(r.rewrite(199, 0, 11)).toBeNull()
    expect(r.rewrite(202, 0, 12)?.sequenceNumber).toBe(13)
    expect(r.rewrite(201, 0, 12)?.sequenceNumber).toBe(12)
    r.switchSource()
    // Continues after the highest sent (13), not the last seen (12).
    expect(r.rewrite(5, 0, 20)?.sequenceNumber).toBe(14)
  })

  it('seqDiff reads across the wrap', () => {
    expect(seqDiff(2, 65_534)).toBe(4)
    expect(seqDiff(65_534, 2)).toBe(-4)
  })
})
