import { describe, expect, it } from 'vitest'
import { ChannelMemory, channelsKey, type KeyValueStore } from './channel-memory'

function memoryStorage(saved: Record<string, string> = {}): KeyValueStore & { saved: Record<string, string> } {
  return { saved, getItem: (key) => saved[key] ?? null, setItem: (key, value) => { saved[key] = value } }
}

describe('channel membership memory', () => {
  it('the first time, the user lands in the default channel', () => {
    expect(new ChannelMemory(memoryStorage(), 'demo', 'alice').recall(['lobby'])).toEqual(['lobby'])
  })

  it('remembers joined channels across sign-out and sign-in, in the order they were joined', () => {
    const storage = memoryStorage()
    const first = new ChannelMemory(storage, 'demo', 'alice')
    first.remember('lobby')
    first.remember('random')
    first.remember('lobby')
    expect(new ChannelMemory(storage, 'demo', 'alice').recall(['lobby'])).toEqual(['lobby', 'random'])
  })

  it('forgets a channel the user left, the default one too', () => {
    const storage = memoryStorage()
    const memory = new ChannelMemory(storage, 'demo', 'alice')
    memory.remember('lobby')
    memory.remember('random')
    memory.forget('lobby')
    expect(memory.recall(['lobby'])).toEqual(['random'])
    memory.forget('random')
    expect(memory.recall(['lobby'])).toEqual([])
  })

  it('keeps each user of each app apart', () => {
    const storage = memoryStorage()
    new ChannelMemory(storage, 'demo', 'alice').remember('alice-only')
    expect(new ChannelMemory(storage, 'demo', 'bob').recall(['lobby'])).toEqual(['lobby'])
    expect(new ChannelMemory(storage, 'other', 'alice').recall(['lobby'])).toEqual(['lobby'])
    // Separators in ids cannot make two users share an entry.
    expect(channelsKey('a:b', 'c')).not.toBe(channelsKey('a', 'b:c'))
  })

  it('starts from the default when storage is unusable or holds something else', () => {
    const broken: KeyValueStore = { getItem: () => { throw new Error('denied') }, setItem: () => { throw new Error('denied') } }
    const memory = new ChannelMemory(broken, 'demo', 'alice')
    expect(() => memory.remember('random')).not.toThrow()
    expect(memory.recall(['lobby'])).toEqual(['lobby'])
    expect(new ChannelMemory(null, 'demo', 'alice').recall(['lobby'])).toEqual(['lobby'])
    const garbled = memoryStorage({ [channelsKey('demo', 'alice')]: '{not json' })
    expect(new ChannelMemory(garbled, 'demo', 'alice').recall(['lobby'])).toEqual(['lobby'])
  })
})
