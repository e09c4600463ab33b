import { describe, expect, it } from 'vitest'
import type { HistoryMessage, HistoryPage } from '../../sdk'
import { HISTORY_LIMIT } from './messages'
import { HISTORY_PAGE, Thread } from './thread.svelte'

/** A conversation's stored history, `count` messages "m1".."mN" at offsets 1..N, times 1000+offset; pages as the coordinator gives them. */
function stored(count: number) {
  const all: HistoryMessage[] = Array.from({ length: count }, (_, i) => ({
    message: `m${i + 1}`, messageType: 'STRING', publisher: 'bob', customType: '', timestamp: 1001 + i, offset: i + 1,
  }))
  const asked: { messageCount: number; start?: number }[] = []
  const fetchPage = async (options: { messageCount: number; start?: number }): Promise<HistoryPage> => {
    asked.push(options)
    const upTo = options.start ? all.filter((m) => m.timestamp <= options.start!) : all
    const messageList = upTo.slice(-options.messageCount).reverse()
    const rest = upTo.length - messageList.length
    return { messageList, count: messageList.length, newStart: rest > 0 ? upTo[rest - 1]!.timestamp : 0, timestamp: 0 }
  }
  return { all, asked, fetchPage }
}

const live = (text: string, offset?: number, extra: { recovered?: boolean; epoch?: string; publishTime?: number } = {}) =>
  ({ publisher: 'bob', message: text, customType: '', publishTime: extra.publishTime ?? 1000 + (offset ?? 900), offset, epoch: extra.epoch ?? 'e1', recovered: extra.recovered })

const texts = (thread: Thread) => thread.messages.map((m) => m.text)

describe('a conversation with history', () => {
  it('opening shows the recent page, oldest first, and Load earlier pages back to the beginning', async () => {
    const history = stored(HISTORY_PAGE + 10)
    const thread = new Thread(history.fetchPage)
    thread.open()
    expect(thread.history).toBe('loading')
    await thread.loadEarlier() // ignored while the first page loads
    await until(() => thread.history !== 'loading')
    expect(thread.history).toBe('more')
    expect(texts(thread)).toEqual(history.all.slice(10).map((m) => m.message))
    await thread.loadEarlier()
    expect(thread.history).toBe('start')
    expect(texts(thread)).toEqual(history.all.map((m) => m.message))
    expect(history.asked).toEqual([{ messageCount: HISTORY_PAGE }, { messageCount: HISTORY_PAGE, start: 1010 }])
  })

  it('a message received live that the page also holds shows once, in order', async () => {
    const history = stored(3)
    const thread = new Thread(history.fetchPage)
    expect(thread.receive(live('m3', 3, { publishTime: 1003 }))).not.toBeNull()
    expect(thread.receive(live('m3', 3, { publishTime: 1003 }))).toBeNull()
    thread.open()
    await until(() => thread.history === 'start')
    expect(texts(thread)).toEqual(['m1', 'm2', 'm3'])
  })

  it('recovered messages stand under one "while you were away" marker, before the first of them', () => {
    const thread = new Thread(stored(0).fetchPage)
    thread.receive(live('before', 1))
    thread.receive(live('missed 1', 2, { recovered: true }))
    thread.receive(live('missed 2', 3, { recovered: true }))
    thread.recovered({ recovered: true })
    thread.receive(live('after', 4))
    const first = thread.messages.find((m) => m.text === 'missed 1')!
    expect(thread.away).toEqual({ beforeId: first.id, afterId: null, count: 2, lost: false })
  })

  it('when some missed messages are gone, it says so, where the gap is', () => {
    const thread = new Thread(stored(0).fetchPage)
    thread.receive(live('before', 1))
    thread.recovered({ recovered: false })
    expect(thread.away).toEqual({ beforeId: null, afterId: thread.messages[0]!.id, count: 0, lost: true })
  })

  it('another epoch (the history was lost): new messages reusing old offsets still show', () => {
    const thread = new Thread(stored(0).fetchPage)
    thread.receive(live('old', 1, { epoch: 'e1' }))
    expect(thread.receive(live('new', 1, { epoch: 'e2', publishTime: 5000 }))).not.toBeNull()
    expect(texts(thread)).toEqual(['old', 'new'])
  })

  it('past the limit the oldest go, and Load earlier brings the stored ones back', async () => {
    const history = stored(HISTORY_LIMIT + 1)
    const thread = new Thread(history.fetchPage)
    thread.open()
    await until(() => thread.history === 'more')
    // Everything arrives live as well (as if we had been here): capped, but the page's messages stay.
    for (const m of history.all) thread.receive(live(m.message as string, m.offset, { publishTime: m.timestamp }))
    expect(thread.messages.length).toBe(HISTORY_LIMIT)
    expect(thread.history).toBe('more')
    await thread.loadEarlier()
    expect(texts(thread)[0]).toBe('m1')
  })

  it('catching up after a reconnect adds what was stored meanwhile under the marker', async () => {
    const history = stored(5)
    const thread = new Thread(history.fetchPage)
    expect(await thread.catchUp()).toEqual([]) // never opened: it loads when opened
    thread.open()
    await until(() => thread.history === 'start')
    history.all.push({ message: 'm6', messageType: 'STRING', publisher: 'bob', customType: '', timestamp: 1006, offset: 6 })
    const added = await thread.catchUp()
    expect(added.map((m) => m.text)).toEqual(['m6'])
    expect(thread.away).toMatchObject({ beforeId: added[0]!.id, count: 1, lost: false })
  })
})

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 0))
  expect(condition()).toBe(true)
}
