import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Relay } from '../src/relay/server'
import { AppState, LAST_USER_KEY } from '../src/ui/state/app.svelte'
import { LOG_LIMIT } from '../src/ui/state/event-log.svelte'
import { HISTORY_LIMIT } from '../src/ui/state/messages'
import { STATUS_KEY } from '../src/ui/state/presence.svelte'
import { Session } from '../src/ui/state/session.svelte'
import { relayForTest, until } from './helpers'

/** The UI's rune state classes against a real relay, in Node: what the components render. */
describe('UI state over a real relay', () => {
  let relay: Relay
  const sessions: Session[] = []
  const start = async (userId: string) => {
    const session = await Session.start({ userId, appId: 'test', mode: 'relay' }, { url: relay.url })
    sessions.push(session)
    return session
  }

  // Some tests fill a history or log faster than the publish limit allows a person to (-10021 is tested elsewhere).
  const unlimited = { perSecond: 100_000, burst: 100_000 }
  beforeEach(async () => { relay = await relayForTest({ requestRate: unlimited, engine: { intervalThreshold: 3, intervalMs: 300, publishRate: unlimited } }) })
  afterEach(async () => {
    for (const session of sessions.splice(0)) session.destroy()
    await relay.close()
  })

  it('a new session is connected, in #lobby, and sees itself online', async () => {
    const alice = await start('alice')
    expect(alice.link).toBe('CONNECTED')
    expect(alice.channels.activeName).toBe('lobby')
    await until(() => alice.presence.occupants('lobby').length === 1)
    expect(alice.presence.occupants('lobby')[0]).toEqual({ userId: 'alice', states: {} })
  })

  it('who is online follows joins, status changes and leaves', async () => {
    const alice = await start('alice')
    const bob = await start('bob')
    await until(() => alice.presence.others.includes('bob'))
    await bob.presence.setStatus('lunch', bob.channels.names)
    await until(() => alice.presence.occupants('lobby').find((p) => p.userId === 'bob')?.states[STATUS_KEY] === 'lunch')
    // Our own status shows for us too, though the coordinator does not echo it.
    expect(bob.presence.occupants('lobby')[0]).toEqual({ userId: 'bob', states: { [STATUS_KEY]: 'lunch' } })
    await bob.presence.setStatus('', bob.channels.names)
    await until(() => !(STATUS_KEY in (alice.presence.occupants('lobby').find((p) => p.userId === 'bob')?.states ?? { [STATUS_KEY]: '' })))
    await bob.channels.leave('lobby')
    await until(() => !alice.presence.isOnline('bob'))
    expect(bob.presence.occupants('lobby')).toEqual([])
  })

  it('a status set before joining a channel is put on that channel too', async () => {
    const alice = await start('alice')
    const bob = await start('bob')
    await alice.presence.setStatus('focused', alice.channels.names)
    await alice.channels.join('design')
    await bob.channels.join('design')
    await until(() => bob.presence.occupants('design').find((p) => p.userId === 'alice')?.states[STATUS_KEY] === 'focused')
  })

  it('above the INTERVAL threshold the roster is kept from interval events', async () => {
    const watcher = await start('watcher')
    for (const userId of ['u1', 'u2', 'u3', 'u4']) await start(userId)
    await until(() => watcher.presence.occupants('lobby').length === 5)
    await sessions.find((s) => s.userId === 'u4')!.logout()
    await until(() => watcher.presence.occupants('lobby').length === 4)
    expect(watcher.presence.isOnline('u4')).toBe(false)
  })

  it('messages in a channel not on screen count as unread until it is opened', async () => {
    const alice = await start('alice')
    const bob = await start('bob')
    await alice.channels.join('random')
    await bob.channels.join('random')
    bob.openChannel('lobby')
    await alice.channels.send('one')
    await alice.channels.send('two')
    await until(() => bob.channels.list.find((c) => c.name === 'random')?.unread === 2)
    expect(bob.unreadTotal).toBe(2)
    // Our own messages come back from the coordinator but are never unread.
    expect(alice.channels.list.find((c) => c.name === 'random')?.unread).toBe(0)
    bob.openChannel('random')
    expect(bob.unreadTotal).toBe(0)
    expect(bob.channels.active?.messages.map((m) => [m.publisher, m.text])).toEqual([['alice', 'one'], ['alice', 'two']])
  })

  it('a message over 32 KB is refused before sending, in words, and nothing goes out', async () => {
    const alice = await start('alice')
    expect(alice.channels.send('x'.repeat(33 * 1024))).toBe(false)
    expect(alice.channels.active?.error?.message).toBe('Message too long — 33 KB of 32 KB')
    expect(alice.channels.pending('lobby')).toEqual([])
    expect(alice.channels.active?.messages).toEqual([])
  })

  it('a message sent while the link is down waits, then goes out once when it is back; a cancelled one never', async () => {
    const alice = await start('alice')
    const port = relay.port
    await relay.close()
    await until(() => alice.link !== 'CONNECTED')
    expect(alice.channels.send('while away')).toBe(true)
    expect(alice.channels.send('never mind')).toBe(true)
    const [kept, dropped] = alice.channels.pending('lobby')
    expect([kept?.state, dropped?.state]).toEqual(['waiting', 'waiting'])
    expect(alice.channels.outbox.cancel(dropped!.id)).toBe(true)
    relay = await relayForTest({ port, requestRate: unlimited, engine: { intervalThreshold: 3, intervalMs: 300, publishRate: unlimited } })
    await until(() => alice.channels.active?.messages.some((m) => m.text === 'while away') === true, 15_000)
    expect(alice.channels.pending('lobby')).toEqual([])
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(alice.channels.active?.messages.map((m) => m.text)).toEqual(['while away'])
  })

  it('channels joined are joined again at the next sign-in; a channel left is forgotten', async () => {
    const saved = new Map<string, string>()
    const storage = { getItem: (key: string) => saved.get(key) ?? null, setItem: (key: string, value: string) => void saved.set(key, value) }
    const signIn = async () => {
      const session = await Session.start({ userId: 'alice', appId: 'test', mode: 'relay' }, { url: relay.url }, storage)
      sessions.push(session)
      return session
    }
    const first = await signIn()
    await first.channels.join('design')
    await first.channels.join('random')
    await first.channels.leave('lobby')
    await first.logout()
    const second = await signIn()
    expect(second.channels.names).toEqual(['design', 'random'])
    expect(second.channels.activeName).toBe('design')
  })

  it('a bad channel name is refused with the seed code and nothing is joined', async () => {
    const alice = await start('alice')
    expect(await alice.channels.join('  ')).toBe(false)
    expect(alice.channels.error?.message).toBe('Enter a channel name.')
    expect(await alice.channels.join('x'.repeat(65))).toBe(false)
    expect(alice.channels.error?.detail).toMatch(/^-10008 /)
    expect(alice.channels.names).toEqual(['lobby'])
  })

  it('history keeps the last HISTORY_LIMIT messages of a channel', async () => {
    const alice = await start('alice')
    for (let i = 0; i <= HISTORY_LIMIT; i++) await alice.rtm.publish('lobby', `m${i}`)
    await until(() => alice.channels.active?.messages.at(-1)?.text === `m${HISTORY_LIMIT}`)
    expect(alice.channels.active?.messages.length).toBe(HISTORY_LIMIT)
    expect(alice.channels.active?.messages[0]?.text).toBe('m1')
  })

  it('direct messages both ways; one to someone away is kept for them and shows when they open the conversation', async () => {
    const alice = await start('alice')
    const bob = await start('bob')
    alice.openDirect('bob')
    expect(alice.direct.send('psst')).toBe(true)
    await until(() => bob.direct.conversations.some((c) => c.peer === 'alice' && c.messages.length === 1))
    expect(bob.direct.unreadTotal).toBe(1)
    bob.openDirect('alice')
    expect(bob.direct.unreadTotal).toBe(0)
    expect(bob.direct.current?.messages[0]).toMatchObject({ publisher: 'alice', text: 'psst' })
    await bob.logout()
    expect(alice.direct.send('still there?')).toBe(true)
    await until(() => alice.direct.current?.messages.length === 2)
    expect(alice.direct.current?.error).toBeNull()
    expect(alice.direct.pending('bob')).toEqual([])
    const later = await start('bob')
    later.openDirect('alice')
    await until(() => later.direct.current?.history === 'start')
    expect(later.direct.current?.messages.map((m) => [m.publisher, m.text])).toEqual([['alice', 'psst'], ['alice', 'still there?']])
  })

  it('binary messages show as a byte count', async () => {
    const alice = await start('alice')
    await alice.rtm.publish('lobby', new Uint8Array(1234))
    await until(() => alice.channels.active?.messages.length === 1)
    expect(alice.channels.active?.messages[0]).toMatchObject({ binary: true, text: 'binary message <1234 bytes>' })
  })

  it('the event log keeps every frame both ways, capped, filterable and pausable', async () => {
    const alice = await start('alice')
    const log = alice.log
    expect(log.entries.find((e) => e.direction === 'out' && e.label === 'login')).toBeTruthy()
    expect(log.entries.find((e) => e.direction === 'in' && e.label === 'login')?.outcome).toBe('ok')
    log.direction = 'out'
    expect(log.visible.length).toBeGreaterThan(0)
    expect(log.visible.every((e) => e.direction === 'out')).toBe(true)
    log.direction = 'both'
    log.query = 'SUBSCRIBE'
    expect(log.visible.length).toBeGreaterThan(0)
    expect(log.visible.every((e) => e.label === 'subscribe' || e.text.includes('subscribe'))).toBe(true)
    log.query = ''

    log.togglePause()
    const held = log.entries.length
    await alice.channels.send('while paused')
    await until(() => alice.channels.active?.messages.length === 1)
    expect(log.entries.length).toBe(held)
    expect(log.missed).toBeGreaterThanOrEqual(3)
    log.togglePause()
    expect(log.missed).toBe(0)

    for (let i = 0; i < LOG_LIMIT; i++) await alice.rtm.publish('lobby', `n${i}`)
    await until(() => alice.channels.active?.messages.at(-1)?.text === `n${LOG_LIMIT - 1}`)
    expect(log.entries.length).toBe(LOG_LIMIT)
    expect(log.entries.at(-1)?.text).toContain(`n${LOG_LIMIT - 1}`)
  })

  it('the link state and its reason follow a kick by the same user elsewhere', async () => {
    const first = await start('erin')
    await start('erin')
    await until(() => first.link === 'FAILED')
    expect(first.linkDetail).toMatch(/^SERVER_REJECT: /)
  })
})

describe('signing in', () => {
  let relay: Relay
  beforeEach(async () => { relay = await relayForTest() })
  afterEach(async () => { await relay.close() })

  function memoryStorage(initial: Record<string, string> = {}) {
    const data = new Map(Object.entries(initial))
    return { getItem: (key: string) => data.get(key) ?? null, setItem: (key: string, value: string) => void data.set(key, value), data }
  }

  it('needs a user id, remembers it after signing in, and offers it next time', async () => {
    const storage = memoryStorage()
    const app = new AppState(storage, '', { url: relay.url })
    app.form.userId = '   '
    await app.signIn()
    expect(app.session).toBeNull()
    expect(app.form.error?.message).toBe('Enter a user id.')
    app.form.userId = 'alice'
    await app.signIn()
    expect(app.session?.userId).toBe('alice')
    expect(app.form.error).toBeNull()
    expect(storage.data.get(LAST_USER_KEY)).toBe('alice')
    await app.signOut()
    expect(app.session).toBeNull()
    expect(new AppState(storage, '', { url: relay.url }).form.userId).toBe('alice')
  })

  it('a user id the coordinator refuses shows its code and reason', async () => {
    const app = new AppState(memoryStorage(), '', { url: relay.url })
    app.form.userId = 'x'.repeat(65)
    await app.signIn()
    expect(app.session).toBeNull()
    expect(app.form.error?.detail).toMatch(/^-10006 /)
  })

  it('a mode this environment cannot run (tabs in Node) fails at once with the reason', async () => {
    const app = new AppState(memoryStorage(), '', { url: relay.url })
    app.form.userId = 'alice'
    app.form.mode = 'tabs'
    await app.signIn()
    expect(app.session).toBeNull()
    expect(app.form.error?.message).toContain('Web Locks')
  })

  it('?user= signs in straight away', async () => {
    const app = new AppState(memoryStorage(), '?user=zoe&app=other', { url: relay.url })
    await until(() => app.session !== null)
    expect([app.session?.userId, app.session?.appId]).toEqual(['zoe', 'other'])
    app.destroy()
  })
})
