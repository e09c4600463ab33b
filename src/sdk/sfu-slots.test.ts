import { describe, expect, it } from 'vitest'
import { memberOfMid, parseLayer, parseSlots, slotChanges, slotsByMember, stalledVideo } from './sfu-slots'

describe('an SFU room’s receive slots', () => {
  it('gives each member the video and audio slot that carry it', () => {
    const grouping = slotsByMember({ video: { 0: 'ann', 1: 'bo', 2: null }, audio: { 6: 'bo', 7: null, 8: 'cy' } })
    expect(Object.fromEntries(grouping)).toEqual({
      ann: { video: '0', audio: null },
      bo: { video: '1', audio: '6' },
      cy: { video: null, audio: '8' },
    })
  })

  it('keeps the first slot in mid order when the SFU names a member twice', () => {
    const grouping = slotsByMember({ video: { 10: 'ann', 2: 'ann' }, audio: {} })
    expect(grouping.get('ann')).toEqual({ video: '2', audio: null })
  })

  it('gives a new stream to a member whose slots changed, and none to one whose did not', () => {
    const before = slotsByMember({ video: { 0: 'ann', 1: 'bo' }, audio: { 6: 'ann' } })
    const after = slotsByMember({ video: { 0: 'ann', 1: 'bo' }, audio: { 6: 'bo' } })
    expect(slotChanges(before, after)).toEqual({ changed: ['ann', 'bo'], gone: [] })
    expect(slotChanges(after, after)).toEqual({ changed: [], gone: [] })
  })

  it('ends the stream of a member left with no slot', () => {
    const before = slotsByMember({ video: { 0: 'ann', 1: 'bo' }, audio: {} })
    const after = slotsByMember({ video: { 0: 'ann', 1: null }, audio: {} })
    expect(slotChanges(before, after)).toEqual({ changed: [], gone: ['bo'] })
  })

  it('moves a slot from one member to another: the old one goes, the new one arrives', () => {
    const before = slotsByMember({ video: { 0: 'ann' }, audio: {} })
    const after = slotsByMember({ video: { 0: 'bo' }, audio: {} })
    expect(slotChanges(before, after)).toEqual({ changed: ['bo'], gone: ['ann'] })
  })

  it('tells which member a track carries by its mid', () => {
    const grouping = slotsByMember({ video: { 0: 'ann' }, audio: { 6: 'bo' } })
    expect(memberOfMid(grouping, '6')).toBe('bo')
    expect(memberOfMid(grouping, '1')).toBeNull()
  })
})

describe('SFU notifications from the wire', () => {
  it('accepts slots with sessionIds or null', () => {
    expect(parseSlots({ video: { 0: 'ann', 1: null }, audio: {} })).toEqual({ video: { 0: 'ann', 1: null }, audio: {} })
  })

  it('refuses malformed slots', () => {
    expect(parseSlots(null)).toBeNull()
    expect(parseSlots({ video: { 0: 7 }, audio: {} })).toBeNull()
    expect(parseSlots({ video: [], audio: {} })).toBeNull()
    expect(parseSlots({ video: {} })).toBeNull()
    expect(parseSlots({ video: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [i, 'x'])), audio: {} })).toBeNull()
  })

  it('accepts a layer the publisher sends, and refuses any other', () => {
    expect(parseLayer({ sessionId: 'ann', layer: 'l' })).toEqual({ sessionId: 'ann', layer: 'l' })
    expect(parseLayer({ sessionId: 'ann', layer: 'x' })).toBeNull()
    expect(parseLayer({ layer: 'h' })).toBeNull()
  })
})

describe('a stuck picture', () => {
  const grouping = slotsByMember({ video: { 0: 'ann', 1: 'bo', 2: 'cy' }, audio: {} })
  it('is a video slot that decoded nothing since the last reading, of a member whose camera is on', () => {
    const before = new Map([['0', 10], ['1', 10]])
    const after = new Map([['0', 40], ['1', 10]])
    expect(stalledVideo(before, after, grouping, (id) => id !== 'cy')).toEqual(['bo'])
  })

  it('includes a slot that never decoded a frame', () => {
    expect(stalledVideo(new Map(), new Map(), grouping, () => true)).toEqual(['ann', 'bo', 'cy'])
  })
})
