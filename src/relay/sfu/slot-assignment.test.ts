import { describe, expect, it } from 'vitest'
import { assignSlots, AUDIO_SLOT_MARGIN, lastSpeakers, loudest, type SpeakerView } from './slot-assignment'

const speaker = (id: string, over: Partial<SpeakerView> = {}): SpeakerView => ({ id, activity: 0, spokeAt: -Infinity, since: 0, ...over })

describe('slot assignment', () => {
  it('fills free slots in order', () => {
    expect(assignSlots([null, null, null], ['a', 'b'])).toEqual(['a', 'b', null])
  })
  it('a publisher still wanted keeps its slot; one no longer wanted frees it for a newcomer', () => {
    expect(assignSlots(['a', 'b', 'c'], ['c', 'd', 'a'])).toEqual(['a', 'd', 'c'])
  })
  it('never more than the slots', () => {
    expect(assignSlots([null, null], ['a', 'b', 'c'])).toEqual(['a', 'b'])
  })
})

describe('last-N video', () => {
  it('most recently heard first, then by publishing order', () => {
    const cands = [speaker('a', { since: 1 }), speaker('b', { since: 2, spokeAt: 50 }), speaker('c', { since: 3, spokeAt: 90 }), speaker('d', { since: 0 })]
    expect(lastSpeakers(cands, 3)).toEqual(['c', 'b', 'd'])
  })
})

describe('loudest-N audio', () => {
  it('the loudest take the slots', () => {
    const cands = [speaker('a', { activity: 10 }), speaker('b', { activity: 90 }), speaker('c', { activity: 50 })]
    expect(loudest(cands, [null, null], 2)).toEqual(['b', 'c'])
  })
  it('a holder keeps its slot against a challenger less than the margin louder', () => {
    const cands = [speaker('a', { activity: 60 }), speaker('b', { activity: 60 + AUDIO_SLOT_MARGIN - 1 })]
    expect(loudest(cands, ['a'], 1)).toEqual(['a'])
    const louder = [speaker('a', { activity: 60 }), speaker('b', { activity: 60 + AUDIO_SLOT_MARGIN + 1 })]
    expect(loudest(louder, ['a'], 1)).toEqual(['b'])
  })
})
