import { describe, expect, it } from 'vitest'
import { PlaybackBlocks, type AutoplayEvent } from './playback-blocks.svelte'

const event = (code: 0 | -1, trackId: string, srcUserId = 'bob'): AutoplayEvent =>
  ({ code, message: '', srcUserId, streamId: 0, trackId, mediaType: 'video' })
const stream = (...ids: string[]) => ({ getTracks: () => ids.map((id) => ({ id })) }) as unknown as MediaStream

describe('blocked playback', () => {
  it('a tile is blocked from its track’s -1 until its 0', () => {
    const blocks = new PlaybackBlocks()
    blocks.apply(event(-1, 'v1'))
    blocks.apply(event(-1, 'a1'))
    expect(blocks.blocks(stream('v1', 'a1'))).toBe(true)
    expect(blocks.blocks(stream('v2'))).toBe(false)
    blocks.apply(event(0, 'v1'))
    expect(blocks.blocks(stream('v1', 'a1'))).toBe(true)
    blocks.apply(event(0, 'a1'))
    expect(blocks.any).toBe(false)
  })

  it('a repeated event changes nothing', () => {
    const blocks = new PlaybackBlocks()
    blocks.apply(event(-1, 'v1'))
    const before = blocks.blocked
    blocks.apply(event(-1, 'v1'))
    blocks.apply(event(0, 'other'))
    expect(blocks.blocked).toBe(before)
  })
})
