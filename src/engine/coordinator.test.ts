import { describe, expect, it } from 'vitest'
import type { ServerEvent } from '../protocol/events'
import type { Request } from '../protocol/requests'
import { Coordinator, type Handled } from './coordinator'
import type { Output } from './effects'
import { DEFAULT_ENGINE_CONFIG, type EngineConfig } from './app-engine'

/** A fake world: one coordinator, a clock we move by hand, and every delivered event per connection. */
function world(config: Partial<EngineConfig> = {}) {
  const coordinator = new Coordinator({ ...DEFAULT_ENGINE_CONFIG, ...config })
  let now = 1_000_000
  let nextId = 1
  let nextKey = 1
  const inbox = new Map<string, ServerEvent[]>()
  const closed = new Map<string, string>()
  const record = (output: Output) => {
    for (const { to, event } of output.sends) for (const conn of to) inbox.set(conn, [...(inbox.get(conn) ?? []), event])
    for (const { conn, reason } of output.closes) closed.set(conn, reason)
  }
  // Requests in these tests never wait, so every one has its reply now.
  const apply = (handled: Handled) => { record(handled); return handled.reply! }
  return {
    coordinator, inbox, closed,
    get now() { return now },
    advance(ms: number) { now += ms; record(coordinator.tick(now)) },
    login(conn: string, userId: string, extra: Partial<Extract<Request, { op: 'login' }>['args']> = {}, tokenExpiresAt: number | null = null) {
      return apply(coordinator.login(conn, { appId: 'app', userId, ...extra }, { tokenExpiresAt, newResumeKey: `key-${nextKey++}` }, now))
    },
    send(conn: string, request: Exclude<Request, { op: 'login' | 'renewToken' }>, id = nextId++) {
      return apply(coordinator.handle(conn, id, request, now))
    },
    drop(conn: string) { record(coordinator.disconnect(conn, now)) },
    events(conn: string, kind?: string) {
      return (inbox.get(conn) ?? []).filter((event) => !kind || event.kind === kind)
    },
    presence(conn: string) {
      return this.events(conn, 'presence') as Extract<ServerEvent, { kind: 'presence' }>[]
    },
  }
}

/** Clients that send nothing for a long time in a test: heartbeats may be 30 min apart. */
const QUIET = { heartbeatInterval: 1800 }
const sub = (channelName: string, options = {}) => ({ op: 'subscribe' as const, args: { channelName, ...options } })
const pub = (channelName: string, message: string | Uint8Array, channelType: 1 | 3 = 1, customType?: string) =>
  ({ op: 'publish' as const, args: { channelName, channelType, message, customType } })

describe('login', () => {
  it('rejects an invalid user id with -10006', () => {
    const w = world()
    for (const userId of ['', ' ', 'a'.repeat(65), 'tab\tname', 'ünï']) {
      expect(w.login('c1', userId)).toMatchObject({ ok: false, error: { errorCode: -10006, name: 'INVALID_USER_ID', operation: 'login' } })
    }
    expect(w.login('c1', 'alice')).toMatchObject({ ok: true })
  })

  it('rejects presenceTimeout and heartbeatInterval outside the seed ranges', () => {
    const w = world()
    expect(w.login('c1', 'a', { presenceTimeout: 4 })).toMatchObject({ ok: false, error: { errorCode: -10014 } })
    expect(w.login('c1', 'a', { presenceTimeout: 301 })).toMatchObject({ ok: false, error: { errorCode: -10014 } })
    expect(w.login('c1', 'a', { heartbeatInterval: 1801 })).toMatchObject({ ok: false, error: { errorCode: -10014 } })
    expect(w.login('c1', 'a', { presenceTimeout: 5, heartbeatInterval: 5 })).toMatchObject({ ok: true })
  })

  it('refuses every operation before login with -10002 NOT_LOGIN', () => {
    const w = world()
    expect(w.send('c1', sub('lobby'))).toMatchObject({ ok: false, error: { errorCode: -10002, operation: 'subscribe' } })
  })

  it('a second login of the same user replaces the first, which is told SAME_UID_LOGIN', () => {
    const w = world()
    w.login('c1', 'alice')
    w.login('c2', 'bob')
    w.send('c1', sub('lobby'))
    w.send('c2', sub('lobby'))
    expect(w.login('c3', 'alice')).toMatchObject({ ok: true, result: { resumed: false } })
    expect(w.events('c1', 'kicked')).toEqual([expect.objectContaining({ reasonCode: 'SAME_UID_LOGIN' })])
    expect(w.closed.get('c1')).toBe('SAME_UID_LOGIN')
    expect(w.presence('c2').map((e) => [e.eventType, e.publisher])).toContainEqual([4, 'alice'])
    expect(w.send('c1', pub('lobby', 'ghost'))).toMatchObject({ ok: false, error: { errorCode: -10002 } })
  })

  it('warns 30 s before the token expires and ends the session when it does', () => {
    const w = world()
    w.login('c1', 'alice', QUIET, w.now + 60_000)
    w.advance(29_000)
    expect(w.events('c1', 'tokenPrivilegeWillExpire')).toHaveLength(0)
    w.advance(1_000)
    expect(w.events('c1', 'tokenPrivilegeWillExpire')).toEqual([expect.objectContaining({ channelName: '' })])
    w.advance(1_000)
    expect(w.events('c1', 'tokenPrivilegeWillExpire')).toHaveLength(1)
    w.advance(30_000)
    expect(w.events('c1', 'kicked')).toEqual([expect.objectContaining({ reasonCode: 'TOKEN_EXPIRED' })])
  })

  it('renewToken moves the expiry and re-arms the warning', () => {
    const w = world()
    w.login('c1', 'alice', QUIET, w.now + 40_000)
    w.advance(15_000)
    expect(w.events('c1', 'tokenPrivilegeWillExpire')).toHaveLength(1)
    expect(w.coordinator.renewToken('c1', w.now + 120_000).reply).toMatchObject({ ok: true })
    w.advance(60_000)
    expect(w.events('c1', 'kicked')).toHaveLength(0)
    w.advance(31_000)
    expect(w.events('c1', 'tokenPrivilegeWillExpire')).toHaveLength(2)
  })
})

describe('presence timeout and resume', () => {
  it('a vanished session is REMOTE_TIMEOUT for the others after presenceTimeout, not before', () => {
    const w = world()
    w.login('c1', 'alice', { presenceTimeout: 10 })
    w.login('c2', 'bob', QUIET)
    w.send('c1', sub('lobby'))
    w.send('c2', sub('lobby'))
    w.drop('c1')
    w.advance(9_999)
    expect(w.presence('c2').filter((e) => e.eventType === 5)).toHaveLength(0)
    w.advance(1)
    expect(w.presence('c2').filter((e) => e.eventType === 5).map((e) => e.publisher)).toEqual(['alice'])
  })

  it('resuming with the resume key within the timeout keeps channels and state, and nobody sees a leave', () => {
    const w = world()
    const first = w.login('c1', 'alice', { presenceTimeout: 10, heartbeatInterval: 1800 })
    const resumeKey = first.ok ? String(first.result.resumeKey) : ''
    w.login('c2', 'bob', QUIET)
    w.send('c1', sub('lobby'))
    w.send('c1', { op: 'setState', args: { channelName: 'lobby', channelType: 1, states: { mood: 'ok' } } })
    w.send('c2', sub('lobby'))
    w.drop('c1')
    w.advance(5_000)
    expect(w.login('c3', 'alice', { resumeKey, heartbeatInterval: 1800 })).toMatchObject({ ok: true, result: { resumed: true, channels: [{ channelName: 'lobby', channelType: 1 }] } })
    w.advance(20_000)
    expect(w.presence('c2').filter((e) => e.eventType === 4 || e.eventType === 5)).toHaveLength(0)
    w.send('c2', pub('lobby', 'still there?'))
    expect(w.events('c3', 'message')).toHaveLength(1)
    expect(w.send('c2', { op: 'getState', args: { channelName: 'lobby', channelType: 1, userId: 'alice' } })).toMatchObject({ ok: true, result: { states: { mood: 'ok' } } })
  })

  it('a client silent for three heartbeat intervals is closed and then times out', () => {
    const w = world()
    w.login('c1', 'alice', { presenceTimeout: 5, heartbeatInterval: 5 })
    w.login('c2', 'bob', { heartbeatInterval: 60 })
    w.send('c1', sub('lobby'))
    w.send('c2', sub('lobby'))
    w.advance(10_000)
    w.send('c1', { op: 'heartbeat', args: {} })
    w.advance(15_001)
    expect(w.closed.get('c1')).toBe('HEARTBEAT_TIMEOUT')
    w.advance(5_000)
    expect(w.presence('c2').filter((e) => e.eventType === 5).map((e) => e.publisher)).toEqual(['alice'])
  })

  it('a request resent with the same id after a resume is answered, not applied twice', () => {
    const w = world()
    const first = w.login('c1', 'alice')
    w.login('c2', 'bob')
    w.send('c2', sub('lobby'))
    w.send('c1', pub('lobby', 'once'), 7)
    w.drop('c1')
    w.login('c3', 'alice', { resumeKey: first.ok ? String(first.result.resumeKey) : '' })
    expect(w.send('c3', pub('lobby', 'once'), 7)).toMatchObject({ ok: true })
    expect(w.events('c2', 'message')).toHaveLength(1)
  })
})

describe('message and user channels', () => {
  it('delivers to every subscriber with withMessage, stamped with the session as publisher', () => {
    const w = world()
    w.login('c1', 'alice'); w.login('c2', 'bob'); w.login('c3', 'carol')
    w.send('c1', sub('lobby'))
    w.send('c2', sub('lobby'))
    w.send('c3', sub('lobby', { withMessage: false }))
    w.send('c1', pub('lobby', 'hello', 1, 'greeting'))
    expect(w.events('c2', 'message')).toEqual([expect.objectContaining({ publisher: 'alice', message: 'hello', customType: 'greeting', messageType: 1, channelType: 1 })])
    expect(w.events('c1', 'message')).toHaveLength(1)
    expect(w.events('c3', 'message')).toHaveLength(0)
  })

  it('publishing without subscribing is allowed', () => {
    const w = world()
    w.login('c1', 'alice'); w.login('c2', 'bob')
    w.send('c2', sub('lobby'))
    expect(w.send('c1', pub('lobby', 'drive-by'))).toMatchObject({ ok: true })
    expect(w.events('c2', 'message')).toHaveLength(1)
  })

  it('enforces the 32 KB payload and 32-character customType limits', () => {
    const w = world()
    w.login('c1', 'alice')
    expect(w.send('c1', pub('lobby', 'x'.repeat(32 * 1024)))).toMatchObject({ ok: true })
    expect(w.send('c1', pub('lobby', 'x'.repeat(32 * 1024 + 1)))).toMatchObject({ ok: false, error: { errorCode: -11010 } })
    expect(w.send('c1', pub('lobby', new Uint8Array(32 * 1024 + 1)))).toMatchObject({ ok: false, error: { errorCode: -11010 } })
    expect(w.send('c1', pub('lobby', 'é'.repeat(16 * 1024 + 1)))).toMatchObject({ ok: false, error: { errorCode: -11010 } })
    expect(w.send('c1', pub('lobby', 'x', 1, 'c'.repeat(32)))).toMatchObject({ ok: true })
    expect(w.send('c1', pub('lobby', 'x', 1, 'c'.repeat(33)))).toMatchObject({ ok: false, error: { errorCode: -11029, name: 'CHANNEL_CUSTOM_TYPE_LENGTH_OVERFLOW' } })
  })

  it('a user-channel message reaches only that user; an offline receiver is -11033', () => {
    const w = world()
    w.login('c1', 'alice'); w.login('c2', 'bob')
    expect(w.send('c1', pub('bob', 'dm', 3))).toMatchObject({ ok: true })
    expect(w.events('c2', 'message')).toEqual([expect.objectContaining({ channelType: 3, channelName: 'alice', publisher: 'alice' })])
    expect(w.send('c1', pub('nobody', 'dm', 3))).toMatchObject({ ok: false, error: { errorCode: -11033, name: 'CHANNEL_RECEIVER_OFFLINE' } })
    w.drop('c2')
    expect(w.send('c1', pub('bob', 'dm', 3))).toMatchObject({ ok: false, error: { errorCode: -11033 } })
  })

  it('rejects invalid channel names and types', () => {
    const w = world()
    w.login('c1', 'alice')
    expect(w.send('c1', sub(''))).toMatchObject({ ok: false, error: { errorCode: -10008 } })
    expect(w.send('c1', { op: 'publish', args: { channelName: 'x', channelType: 2, message: 'm' } })).toMatchObject({ ok: false, error: { errorCode: -10019 } })
    expect(w.send('c1', { op: 'unsubscribe', args: { channelName: 'never' } })).toMatchObject({ ok: false, error: { errorCode: -11002 } })
  })

  it('caps subscriptions at 50 message channels with -11005', () => {
    const w = world()
    w.login('c1', 'alice')
    for (let i = 0; i < 50; i++) expect(w.send('c1', sub(`ch${i}`))).toMatchObject({ ok: true })
    expect(w.send('c1', sub('one-too-many'))).toMatchObject({ ok: false, error: { errorCode: -11005 } })
    expect(w.send('c1', sub('ch0'))).toMatchObject({ ok: true })
  })
})

describe('presence', () => {
  it('sends a SNAPSHOT to the subscriber and REMOTE_JOIN / STATE_CHANGED / LEAVE to the others', () => {
    const w = world()
    w.login('c1', 'alice'); w.login('c2', 'bob')
    w.send('c1', sub('lobby'))
    w.send('c2', sub('lobby'))
    expect(w.presence('c2')[0]).toMatchObject({ eventType: 1, snapshot: [{ userId: 'alice', states: {} }, { userId: 'bob', states: {} }] })
    expect(w.presence('c1').at(-1)).toMatchObject({ eventType: 3, publisher: 'bob' })
    w.send('c2', { op: 'setState', args: { channelName: 'lobby', channelType: 1, states: { mood: 'happy' } } })
    expect(w.presence('c1').at(-1)).toMatchObject({ eventType: 6, publisher: 'bob', stateChanged: { mood: 'happy' } })
    w.send('c2', { op: 'removeState', args: { channelName: 'lobby', channelType: 1, states: ['mood'] } })
    expect(w.presence('c1').at(-1)).toMatchObject({ eventType: 6, stateChanged: {} })
    w.send('c2', { op: 'unsubscribe', args: { channelName: 'lobby' } })
    expect(w.presence('c1').at(-1)).toMatchObject({ eventType: 4, publisher: 'bob' })
  })

  it('beQuiet hides a user from events, whoNow and whereNow', () => {
    const w = world()
    w.login('c1', 'alice'); w.login('c2', 'spy')
    w.send('c1', sub('lobby'))
    w.send('c2', sub('lobby', { beQuiet: true }))
    expect(w.presence('c1').filter((e) => e.eventType === 3)).toHaveLength(0)
    expect(w.send('c1', { op: 'getOnlineUsers', args: { channelName: 'lobby', channelType: 1 } })).toMatchObject({ ok: true, result: { totalOccupancy: 1, occupants: [{ userId: 'alice' }] } })
    expect(w.send('c1', { op: 'getUserChannels', args: { userId: 'spy' } })).toMatchObject({ ok: true, result: { totalChannel: 0, channels: [] } })
    expect(w.send('c1', { op: 'getUserChannels', args: { userId: 'alice' } })).toMatchObject({ ok: true, result: { totalChannel: 1, channels: [{ channelName: 'lobby', channelType: 1 }] } })
  })

  it('whoNow pages through occupants with nextPage and can include states', () => {
    const w = world({ intervalThreshold: 1000, intervalMs: 1000 })
    for (let i = 0; i < 250; i++) {
      w.login(`c${i}`, `user${String(i).padStart(3, '0')}`)
      w.send(`c${i}`, sub('big', { withPresence: false }))
    }
    w.send('c7', { op: 'setState', args: { channelName: 'big', channelType: 1, states: { seat: '7' } } })
    const seen: string[] = []
    let page: string | undefined
    do {
      const reply = w.send('c0', { op: 'getOnlineUsers', args: { channelName: 'big', channelType: 1, includedState: true, page } })
      if (!reply.ok) throw new Error('whoNow failed')
      const result = reply.result as { totalOccupancy: number; occupants: { userId: string; states: Record<string, string> }[]; nextPage: string }
      expect(result.totalOccupancy).toBe(250)
      seen.push(...result.occupants.map((o) => o.userId))
      if (result.occupants.some((o) => o.userId === 'user007')) expect(result.occupants.find((o) => o.userId === 'user007')?.states).toEqual({ seat: '7' })
      page = result.nextPage || undefined
    } while (page)
    expect(seen).toHaveLength(250)
    expect(new Set(seen).size).toBe(250)
    expect(w.send('c0', { op: 'getOnlineUsers', args: { channelName: 'big', channelType: 1, includedUserId: false } })).toMatchObject({ ok: true, result: { totalOccupancy: 250, occupants: [] } })
  })

  it('above the occupancy threshold, changes arrive as one INTERVAL event per period', () => {
    const w = world({ intervalThreshold: 3, intervalMs: 1000 })
    for (let i = 0; i < 3; i++) { w.login(`c${i}`, `u${i}`, QUIET); w.send(`c${i}`, sub('room')) }
    const before = w.presence('c0').length
    for (let i = 3; i < 8; i++) { w.login(`c${i}`, `u${i}`, QUIET); w.send(`c${i}`, sub('room')) }
    w.send('c1', { op: 'setState', args: { channelName: 'room', channelType: 1, states: { hand: 'up' } } })
    w.send('c2', { op: 'unsubscribe', args: { channelName: 'room' } })
    expect(w.presence('c0').slice(before)).toHaveLength(0) // u3 made it 4 > 3: gathered from then on
    w.advance(1000)
    const interval = w.presence('c0').filter((e) => e.eventType === 2)
    expect(interval).toHaveLength(1)
    expect(interval[0].interval).toMatchObject({
      join: { users: ['u3', 'u4', 'u5', 'u6', 'u7'], userCount: 5 },
      leave: { users: ['u2'], userCount: 1 },
      userStateList: [{ userId: 'u1', states: { hand: 'up' } }],
      totalOccupancy: 7,
    })
    w.advance(1000)
    expect(w.presence('c0').filter((e) => e.eventType === 2)).toHaveLength(1)
  })

  it('in INTERVAL mode a joiner that set states before joining has them in userStateList', () => {
    const w = world({ intervalThreshold: 3, intervalMs: 1000 })
    for (let i = 0; i < 3; i++) { w.login(`c${i}`, `u${i}`, QUIET); w.send(`c${i}`, sub('room')) }
    w.login('c9', 'u9', QUIET)
    w.send('c9', { op: 'setState', args: { channelName: 'room', channelType: 1, states: { show: 'away' } } })
    w.send('c9', sub('room'))
    w.advance(1000)
    const interval = w.presence('c0').filter((e) => e.eventType === 2)
    expect(interval[0].interval).toMatchObject({ join: { users: ['u9'] }, userStateList: [{ userId: 'u9', states: { show: 'away' } }] })
  })

  it('getChannelList lists occupied message channels with their visible occupancy', () => {
    const w = world()
    w.login('c1', 'alice', QUIET); w.login('c2', 'bob', QUIET)
    w.send('c1', sub('lobby')); w.send('c2', sub('lobby')); w.send('c2', sub('quiet', { beQuiet: true }))
    expect(w.send('c1', { op: 'getChannelList', args: {} })).toEqual({
      ok: true, result: { channels: [{ channelName: 'lobby', occupancy: 2 }, { channelName: 'quiet', occupancy: 0 }] },
    })
    w.send('c2', { op: 'unsubscribe', args: { channelName: 'quiet' } })
    expect(w.send('c1', { op: 'getChannelList', args: {} })).toMatchObject({ result: { channels: [{ channelName: 'lobby' }] } })
  })

  it('state set before subscribing is cached and applied on join; limits use the presence codes', () => {
    const w = world()
    w.login('c1', 'alice'); w.login('c2', 'bob')
    w.send('c2', sub('lobby'))
    expect(w.send('c1', { op: 'setState', args: { channelName: 'lobby', channelType: 1, states: { early: 'yes' } } })).toMatchObject({ ok: true })
    w.send('c1', sub('lobby'))
    expect(w.presence('c2').at(-1)).toMatchObject({ eventType: 3, publisher: 'alice', stateChanged: { early: 'yes' } })
    const many = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v']))
    expect(w.send('c1', { op: 'setState', args: { channelName: 'lobby', channelType: 1, states: many } })).toMatchObject({ ok: false, error: { errorCode: -13005 } })
    expect(w.send('c1', { op: 'setState', args: { channelName: 'lobby', channelType: 1, states: { ['k'.repeat(65)]: 'v' } } })).toMatchObject({ ok: false, error: { errorCode: -13008 } })
    expect(w.send('c1', { op: 'setState', args: { channelName: 'lobby', channelType: 1, states: { big: 'v'.repeat(8200) } } })).toMatchObject({ ok: false, error: { errorCode: -13009 } })
    for (let i = 0; i < 10; i++) w.send('c1', { op: 'setState', args: { channelName: `later${i}`, channelType: 1, states: { a: 'b' } } })
    expect(w.send('c1', { op: 'setState', args: { channelName: 'later10', channelType: 1, states: { a: 'b' } } })).toMatchObject({ ok: false, error: { errorCode: -13004 } })
    expect(w.send('c2', { op: 'getState', args: { channelName: 'lobby', channelType: 1, userId: 'nobody' } })).toMatchObject({ ok: false, error: { errorCode: -13011 } })
  })
})
