import { describe, expect, it } from 'vitest'
import type { MetadataData } from '../protocol/events'
import {
  MAX_APP_METADATA_BYTES, MAX_FOLLOWED_USERS, MAX_ITEMS_PER_CALL, MAX_ITEMS_PER_SET, MAX_KEY_BYTES, MAX_SET_BYTES, MAX_VALUE_BYTES, RATE_LIMIT_CALLS,
} from './storage'
import { AppEngine, DEFAULT_ENGINE_CONFIG } from './app-engine'
import { Coordinator } from './coordinator'
import { Effects } from './effects'
import { newSharedQuota } from './quota'
import { TestWorld } from './test-world'

type Item = { key: string; value?: string; revision?: number }
type Options = { majorRevision?: number; addTimeStamp?: boolean; addUserId?: boolean; lockName?: string }
const setCh = (items: Item[], options: Options = {}, channelName = 'room', channelType: 1 | 2 | 3 = 1) =>
  ({ op: 'setChannelMetadata' as const, args: { channelName, channelType, items, ...options } })
const updateCh = (items: Item[], options: Options = {}) => ({ op: 'updateChannelMetadata' as const, args: { channelName: 'room', channelType: 1 as const, items, ...options } })
const removeCh = (items?: Item[], options: Options = {}) => ({ op: 'removeChannelMetadata' as const, args: { channelName: 'room', channelType: 1 as const, items, ...options } })
const getCh = (channelName = 'room', channelType: 1 | 2 = 1) => ({ op: 'getChannelMetadata' as const, args: { channelName, channelType } })
const setUser = (items: Item[], options: Options & { userId?: string } = {}) => ({ op: 'setUserMetadata' as const, args: { items, ...options } })

/** A world whose clock moves 200 ms per call, so the rate limit stays out of the way. */
function world() {
  const w = new TestWorld()
  w.login('a', 'alice')
  w.login('b', 'bob')
  const ok = w.ok.bind(w)
  const code = w.code.bind(w)
  w.ok = (conn, request) => { w.advance(200); return ok(conn, request) }
  w.code = (conn, request) => { w.advance(200); return code(conn, request) }
  return w
}

const data = (result: Record<string, unknown>) => result as unknown as MetadataData

describe('channel metadata', () => {
  it('set, get with revision, author and time; update; remove items and the whole set', () => {
    const w = world()
    w.ok('a', setCh([{ key: 'topic', value: 'launch' }, { key: 'color', value: 'red' }], { addTimeStamp: true, addUserId: true }))
    const got = data(w.ok('b', getCh()))
    expect(got.totalCount).toBe(2)
    expect(got.metadata.topic).toEqual({ value: 'launch', revision: got.majorRevision, updated: w.now - 200, authorUid: 'alice' })
    w.ok('a', updateCh([{ key: 'topic', value: 'landing' }]))
    const updated = data(w.ok('b', getCh()))
    expect(updated.metadata.topic).toMatchObject({ value: 'landing', updated: 0, authorUid: '' })
    expect(updated.metadata.topic.revision).toBeGreaterThan(got.metadata.topic.revision)
    expect(updated.metadata.color.revision).toBe(got.metadata.color.revision)
    expect(updated.majorRevision).toBeGreaterThan(got.majorRevision)
    w.ok('a', removeCh([{ key: 'color' }]))
    expect(Object.keys(data(w.ok('b', getCh())).metadata)).toEqual(['topic'])
    w.ok('a', removeCh())
    expect(data(w.ok('b', getCh()))).toEqual({ channelName: 'room', channelType: 1, totalCount: 0, majorRevision: 0, metadata: {} })
  })

  it('message and stream channels of one name have separate metadata; USER is -10019; a bad name -10008', () => {
    const w = world()
    w.ok('a', setCh([{ key: 'k', value: 'stream' }], {}, 'same', 2))
    w.ok('a', setCh([{ key: 'k', value: 'message' }], {}, 'same', 1))
    expect(data(w.ok('a', getCh('same', 2))).metadata.k.value).toBe('stream')
    expect(data(w.ok('a', getCh('same', 1))).metadata.k.value).toBe('message')
    expect(w.code('a', setCh([{ key: 'k', value: 'v' }], {}, 'same', 3))).toBe(-10019)
    expect(w.code('a', setCh([{ key: 'k', value: 'v' }], {}, ''))).toBe(-10008)
  })

  it('an item CAS with a stale revision is -12014 and changes nothing; the current one succeeds', () => {
    const w = world()
    w.ok('a', setCh([{ key: 'doc', value: 'v1' }]))
    const seen = data(w.ok('b', getCh())).metadata.doc.revision
    w.ok('a', setCh([{ key: 'doc', value: 'v2', revision: seen }]))
    expect(w.code('b', setCh([{ key: 'doc', value: 'bob', revision: seen }]))).toBe(-12014)
    expect(w.code('b', removeCh([{ key: 'doc', revision: seen }]))).toBe(-12014)
    const now = data(w.ok('b', getCh())).metadata.doc
    expect(now.value).toBe('v2')
    w.ok('b', setCh([{ key: 'doc', value: 'bob', revision: now.revision }]))
  })

  it('one stale item fails the whole call: no item of it is written', () => {
    const w = world()
    w.ok('a', setCh([{ key: 'a', value: '1' }]))
    const before = data(w.ok('a', getCh()))
    expect(w.code('a', setCh([{ key: 'b', value: '2' }, { key: 'a', value: 'x', revision: before.metadata.a.revision + 1 }]))).toBe(-12014)
    expect(data(w.ok('a', getCh()))).toMatchObject({ totalCount: 1, majorRevision: before.majorRevision })
  })

  it('a CAS on an item that does not exist is -12003; revision 0 means "only if absent"', () => {
    const w = world()
    w.ok('a', setCh([{ key: 'a', value: '1' }]))
    expect(w.code('a', setCh([{ key: 'ghost', value: 'x', revision: 5 }]))).toBe(-12003)
    w.ok('a', setCh([{ key: 'fresh', value: 'x', revision: 0 }]))
    expect(w.code('a', setCh([{ key: 'fresh', value: 'y', revision: 0 }]))).toBe(-12014)
    expect(w.code('a', setCh([{ key: 'a', value: 'y', revision: -2 }]))).toBe(-12005)
  })

  it('majorRevision CAS: stale is -12014, current succeeds, 0 creates only a set that does not exist', () => {
    const w = world()
    expect(w.code('a', setCh([{ key: 'a', value: '1' }], { majorRevision: 7 }))).toBe(-12016)
    w.ok('a', setCh([{ key: 'a', value: '1' }], { majorRevision: 0 }))
    expect(w.code('a', setCh([{ key: 'b', value: '2' }], { majorRevision: 0 }))).toBe(-12014)
    const { majorRevision } = data(w.ok('a', getCh()))
    expect(w.code('a', setCh([{ key: 'b', value: '2' }], { majorRevision: majorRevision + 5 }))).toBe(-12014)
    w.ok('a', setCh([{ key: 'b', value: '2' }], { majorRevision }))
    expect(w.code('a', removeCh(undefined, { majorRevision }))).toBe(-12014)
    expect(w.code('a', setCh([{ key: 'c', value: '3' }], { majorRevision: -5 }))).toBe(-12005)
    expect(data(w.ok('a', getCh())).totalCount).toBe(2)
  })

  it('update and remove need what they change to exist (-12016 no set, -12003 no item)', () => {
    const w = world()
    expect(w.code('a', updateCh([{ key: 'a', value: '1' }]))).toBe(-12016)
    expect(w.code('a', removeCh())).toBe(-12016)
    w.ok('a', setCh([{ key: 'a', value: '1' }]))
    expect(w.code('a', updateCh([{ key: 'b', value: '1' }]))).toBe(-12003)
    expect(w.code('a', removeCh([{ key: 'b' }]))).toBe(-12003)
  })

  it('revisions never repeat after remove and re-add', () => {
    const w = world()
    w.ok('a', setCh([{ key: 'k', value: '1' }]))
    const first = data(w.ok('a', getCh())).metadata.k.revision
    w.ok('a', removeCh())
    w.ok('a', setCh([{ key: 'k', value: '1' }]))
    const again = data(w.ok('a', getCh())).metadata.k.revision
    expect(again).toBeGreaterThan(first)
    expect(w.code('a', setCh([{ key: 'k', value: 'stale', revision: first }]))).toBe(-12014)
  })

  it('item limits: empty key -12009, key too long -12011, value too long -12012, no value -12010, duplicate key -12013, no items -12004', () => {
    const w = world()
    expect(w.code('a', setCh([{ key: '', value: 'x' }]))).toBe(-12009)
    expect(w.code('a', setCh([{ key: 'k'.repeat(MAX_KEY_BYTES + 1), value: 'x' }]))).toBe(-12011)
    w.ok('a', setCh([{ key: 'k'.repeat(MAX_KEY_BYTES), value: 'x' }]))
    expect(w.code('a', setCh([{ key: 'v', value: 'x'.repeat(MAX_VALUE_BYTES + 1) }]))).toBe(-12012)
    w.ok('a', setCh([{ key: 'v', value: 'x'.repeat(MAX_VALUE_BYTES) }]))
    expect(w.code('a', setCh([{ key: 'novalue' }]))).toBe(-12010)
    expect(w.code('a', setCh([{ key: 'd', value: '1' }, { key: 'd', value: '2' }]))).toBe(-12013)
    expect(w.code('a', setCh([]))).toBe(-12004)
  })

  it(`set limits: at most ${MAX_ITEMS_PER_SET} items (-12002), ${MAX_SET_BYTES} bytes (-12006), ${MAX_ITEMS_PER_CALL} items per call (-12002)`, () => {
    const w = world()
    const many = (from: number, count: number, value = 'v') => Array.from({ length: count }, (_, i) => ({ key: `k${from + i}`, value }))
    expect(w.code('a', setCh(many(0, MAX_ITEMS_PER_CALL + 1)))).toBe(-12002)
    w.ok('a', setCh(many(0, MAX_ITEMS_PER_SET)))
    expect(w.code('a', setCh(many(MAX_ITEMS_PER_SET, 1)))).toBe(-12002)
    w.ok('a', removeCh())
    const big = 'x'.repeat(MAX_VALUE_BYTES)
    const fit = Math.floor(MAX_SET_BYTES / (MAX_VALUE_BYTES + 8)) // keys are "k0".."k7": a few bytes each
    w.ok('a', setCh(many(0, fit, big)))
    expect(w.code('a', setCh(many(fit, 1, big)))).toBe(-12006)
    expect(data(w.ok('a', getCh())).totalCount).toBe(fit)
  })

  it('a write guarded by a lock needs that lock: -12007 bad name, -12008 not held or no such lock', () => {
    const w = world()
    w.ok('a', { op: 'setLock', args: { channelName: 'room', channelType: 1, lockName: 'editor', ttl: 10 } })
    expect(w.code('a', setCh([{ key: 'a', value: '1' }], { lockName: 'editor' }))).toBe(-12008)
    expect(w.code('a', setCh([{ key: 'a', value: '1' }], { lockName: 'missing' }))).toBe(-12008)
    expect(w.code('a', setCh([{ key: 'a', value: '1' }], { lockName: '' }))).toBe(-12007)
    w.ok('a', { op: 'acquireLock', args: { channelName: 'room', channelType: 1, lockName: 'editor' } })
    w.ok('a', setCh([{ key: 'a', value: '1' }], { lockName: 'editor' }))
    expect(w.code('b', updateCh([{ key: 'a', value: 'bob' }], { lockName: 'editor' }))).toBe(-12008)
    expect(data(w.ok('b', getCh())).metadata.a.value).toBe('1')
  })

  it('subscribers withMetadata get SNAPSHOT, then SET, UPDATE and REMOVE with the changed items', () => {
    const w = world()
    w.ok('a', setCh([{ key: 'a', value: '1' }]))
    w.ok('b', { op: 'subscribe', args: { channelName: 'room', withMetadata: true } })
    w.ok('a', setCh([{ key: 'b', value: '2' }], { addUserId: true }))
    w.ok('a', updateCh([{ key: 'b', value: '3' }]))
    w.ok('a', removeCh([{ key: 'a' }]))
    const events = w.events('b', 'storage')
    expect(events.map((e) => [e.eventType, e.storageType, e.channelType, e.channelName, e.publisher])).toEqual([
      [1, 2, 1, 'room', ''], [2, 2, 1, 'room', 'alice'], [3, 2, 1, 'room', 'alice'], [4, 2, 1, 'room', 'alice'],
    ])
    expect(events[0].data.metadata.a.value).toBe('1')
    expect(events[1].data).toMatchObject({ totalCount: 2, metadata: { b: { value: '2', authorUid: 'alice' } } })
    expect(Object.keys(events[3].data.metadata)).toEqual(['a'])
    expect(events[3].data.totalCount).toBe(1)
  })

  it('a stream channel joined withMetadata gets the SNAPSHOT; members without it get no storage events', () => {
    const w = world()
    w.ok('a', setCh([{ key: 'scene', value: 'intro' }], {}, 'stage', 2))
    w.ok('b', { op: 'joinStream', args: { channelName: 'stage', withMetadata: true } })
    w.ok('a', { op: 'joinStream', args: { channelName: 'stage' } })
    w.ok('a', setCh([{ key: 'scene', value: 'outro' }], {}, 'stage', 2))
    expect(w.events('b', 'storage').map((e) => e.eventType)).toEqual([1, 2])
    expect(w.events('a', 'storage')).toEqual([])
  })

  it(`at most ${RATE_LIMIT_CALLS} storage calls per second per user (-10021); the next second is free again`, () => {
    const w = new TestWorld()
    w.login('a', 'alice')
    w.login('b', 'bob')
    for (let i = 0; i < RATE_LIMIT_CALLS; i++) w.ok('a', getCh())
    expect(w.code('a', setCh([{ key: 'k', value: 'v' }]))).toBe(-10021)
    w.ok('b', getCh())
    w.now += 999
    expect(w.code('a', getCh())).toBe(-10021)
    w.now += 1
    w.ok('a', setCh([{ key: 'k', value: 'v' }]))
  })

  it('following users is not rate limited: a reconnect restores every follow at once', () => {
    const w = new TestWorld()
    w.login('a', 'alice')
    for (let i = 0; i < 3 * RATE_LIMIT_CALLS; i++) w.ok('a', { op: 'subscribeUserMetadata', args: { userId: `user${i}` } })
    for (let i = 0; i < RATE_LIMIT_CALLS; i++) w.ok('a', { op: 'unsubscribeUserMetadata', args: { userId: `user${i}` } })
    for (let i = 0; i < RATE_LIMIT_CALLS; i++) w.ok('a', getCh())
    expect(w.code('a', getCh())).toBe(-10021)
  })
})

describe('user metadata', () => {
  it('set and get our own, and another user\'s; an invalid user id is -10006', () => {
    const w = world()
    w.ok('a', setUser([{ key: 'mood', value: 'happy' }], { addUserId: true }))
    expect(data(w.ok('b', { op: 'getUserMetadata', args: { userId: 'alice' } })).metadata.mood).toMatchObject({ value: 'happy', authorUid: 'alice' })
    expect(w.ok('a', { op: 'getUserMetadata', args: {} })).toMatchObject({ userId: 'alice', totalCount: 1 })
    // The author is the session, whoever's metadata it is.
    w.ok('b', setUser([{ key: 'note', value: 'by bob' }], { userId: 'alice', addUserId: true }))
    expect(data(w.ok('a', { op: 'getUserMetadata', args: {} })).metadata.note.authorUid).toBe('bob')
    expect(w.code('a', setUser([{ key: 'k', value: 'v' }], { userId: ' ' }))).toBe(-10006)
  })

  it('followers get SNAPSHOT, SET, UPDATE, REMOVE; after unsubscribing nothing; unsubscribing twice is -12015', () => {
    const w = world()
    w.ok('a', setUser([{ key: 'mood', value: 'happy' }]))
    w.ok('b', { op: 'subscribeUserMetadata', args: { userId: 'alice' } })
    w.ok('a', { op: 'updateUserMetadata', args: { items: [{ key: 'mood', value: 'busy' }] } })
    w.ok('a', { op: 'removeUserMetadata', args: {} })
    expect(w.events('b', 'storage').map((e) => [e.eventType, e.storageType, e.channelType, e.channelName])).toEqual([[1, 1, 3, 'alice'], [3, 1, 3, 'alice'], [4, 1, 3, 'alice']])
    w.ok('b', { op: 'unsubscribeUserMetadata', args: { userId: 'alice' } })
    w.ok('a', setUser([{ key: 'after', value: 'x' }]))
    expect(w.events('b', 'storage')).toHaveLength(3)
    expect(w.code('b', { op: 'unsubscribeUserMetadata', args: { userId: 'alice' } })).toBe(-12015)
  })

  it(`one user follows at most ${MAX_FOLLOWED_USERS} users (-12017)`, () => {
    const w = world()
    for (let i = 0; i < MAX_FOLLOWED_USERS; i++) w.ok('b', { op: 'subscribeUserMetadata', args: { userId: `u${i}` } })
    expect(w.code('b', { op: 'subscribeUserMetadata', args: { userId: 'one-more' } })).toBe(-12017)
  })

  it('a follower whose session times out is forgotten', () => {
    const w = world()
    w.ok('b', { op: 'subscribeUserMetadata', args: { userId: 'alice' } })
    w.drop('b')
    w.advance(300_000)
    w.login('b2', 'bob')
    w.ok('a', setUser([{ key: 'k', value: 'v' }]))
    expect(w.events('b2', 'storage')).toEqual([])
  })
})

describe('durability', () => {
  it('every change is a write; a coordinator restored from them serves the same metadata and keeps counting up', () => {
    const w = world()
    w.ok('a', setCh([{ key: 'agenda', value: 'launch' }], { addUserId: true, addTimeStamp: true }))
    w.ok('a', setCh([{ key: 'scene', value: 'intro' }], {}, 'a/b', 2))
    w.ok('a', setUser([{ key: 'mood', value: 'calm' }]))
    w.ok('a', setCh([{ key: 'gone', value: 'x' }], {}, 'tmp'))
    w.ok('a', removeCh(undefined))
    const before = data(w.ok('a', getCh()))
    expect([...w.store.keys()].every((key) => key.startsWith('app/app/'))).toBe(true)

    const restored = new TestWorld(w.entries())
    restored.login('c', 'carol')
    expect(restored.coordinator.app('app')!.storage.dump()).toEqual(w.coordinator.app('app')!.storage.dump())
    expect(data(restored.ok('c', getCh('a/b', 2))).metadata.scene.value).toBe('intro')
    restored.ok('c', setCh([{ key: 'agenda', value: 'again' }]))
    expect(data(restored.ok('c', getCh())).metadata.agenda.revision).toBeGreaterThan(before.majorRevision)
  })

  it('an app engine dropped while idle continues its revisions when it comes back', () => {
    const w = world()
    w.ok('a', setCh([{ key: 'k', value: '1' }]))
    const first = data(w.ok('a', getCh())).majorRevision
    w.ok('a', removeCh())
    w.ok('a', { op: 'logout', args: {} })
    w.ok('b', { op: 'logout', args: {} })
    w.advance(1000)
    expect(w.coordinator.app('app')).toBeUndefined()
    w.login('a2', 'alice')
    w.ok('a2', setCh([{ key: 'k', value: '1' }]))
    expect(data(w.ok('a2', getCh())).majorRevision).toBeGreaterThan(first)
  })
})

describe('durable keys per app', () => {
  it('apps keep separate metadata, also across a restore, whatever characters their ids hold', () => {
    const coordinator = new Coordinator()
    const store = new Map<string, unknown>()
    const keep = (handled: { writes: { key: string; value: unknown }[] }) => {
      for (const { key, value } of handled.writes) value === null ? store.delete(key) : store.set(key, value)
    }
    const now = 1_000
    for (const [conn, appId] of [['c1', 'one'], ['c2', 'one/two']] as const) {
      keep(coordinator.login(conn, { appId, userId: 'alice' }, { tokenExpiresAt: null, newResumeKey: `k-${conn}` }, now))
      keep(coordinator.handle(conn, 1, { op: 'setChannelMetadata', args: { channelName: 'room', channelType: 1, items: [{ key: 'app', value: appId }] } }, now))
    }
    expect([...store.keys()].sort()).toEqual(['app/one%2Ftwo/meta/c/1/room', 'app/one%2Ftwo/meta/rev', 'app/one/meta/c/1/room', 'app/one/meta/rev'])
    const restored = new Coordinator()
    restored.restore([...store].map(([key, value]) => ({ key, value })))
    expect(restored.app('one')!.storage.dump()['meta/c/1/room'].metadata.app.value).toBe('one')
    expect(restored.app('one/two')!.storage.dump()['meta/c/1/room'].metadata.app.value).toBe('one/two')
  })
})

describe('the app-wide metadata quota', () => {
  it('refuses a write that would take the app past MAX_APP_METADATA_BYTES (-12006), and takes writes again after a removal', () => {
    const w = world()
    const fullSet = (prefix: string) => Array.from({ length: MAX_SET_BYTES / MAX_VALUE_BYTES - 1 }, (_, i) => ({ key: `${prefix}${i}`, value: 'v'.repeat(MAX_VALUE_BYTES) }))
    const perSet = (MAX_SET_BYTES / MAX_VALUE_BYTES - 1) * MAX_VALUE_BYTES
    const sets = Math.floor(MAX_APP_METADATA_BYTES / perSet)
    for (let i = 0; i < sets; i++) w.ok('a', setCh(fullSet('k'), {}, `ch${i}`))
    expect(w.code('a', setCh(fullSet('k'), {}, 'one-more'))).toBe(-12006)
    // Removing is always allowed; then there is room again.
    w.ok('a', { op: 'removeChannelMetadata', args: { channelName: 'ch0', channelType: 1 } })
    w.ok('a', setCh(fullSet('k'), {}, 'one-more'))
  })
})

describe('the coordinator-wide metadata quota', () => {
  it('counts every app: once the apps together are full, a new app cannot write either (-12006)', () => {
    const quota = { ...newSharedQuota(), metadataBytes: { used: 0, limit: 3 * MAX_SET_BYTES } }
    const [first, second] = ['one', 'two'].map((appId) => new AppEngine(appId, DEFAULT_ENGINE_CONFIG, quota))
    const items = Array.from({ length: MAX_SET_BYTES / MAX_VALUE_BYTES - 1 }, (_, i) => ({ key: `k${i}`, value: 'v'.repeat(MAX_VALUE_BYTES) }))
    let now = 1_000_000
    const write = (app: AppEngine, channelName: string) => {
      now += 1_000 // past the per-user storage rate
      return app.handle('c', now, { op: 'setChannelMetadata', args: { channelName, channelType: 1, items } }, new Effects(), now)
    }
    for (const app of [first, second]) app.login('c', { appId: app.appId, userId: 'alice' }, { tokenExpiresAt: null, newResumeKey: 'k' }, new Effects(), now)
    expect(write(first, 'a')).toMatchObject({ ok: true })
    expect(write(first, 'b')).toMatchObject({ ok: true })
    expect(write(second, 'c')).toMatchObject({ ok: true })
    expect(write(second, 'd')).toMatchObject({ ok: false, error: { errorCode: -12006, reason: expect.stringMatching(/across all apps/) } })
  })
})
