import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { LockEventType } from '../protocol/enums'
import type { MetadataData } from '../protocol/events'
import type { Reply } from './app-engine'
import { Coordinator, type Handled } from './coordinator'
import type { Output, Write } from './effects'
import type { EngineRequest } from './test-world'

/**
 * A property-based simulation of the engine: users log in, drop, resume, time out, crash
 * the coordinator (restart from its durable writes), write metadata with fresh and stale
 * revisions, fight over locks and publish on an ordered topic, while the clock jumps.
 * After every step it checks the invariants of issue 4.
 */
const USERS = ['u0', 'u1', 'u2', 'u3'] as const
const LOCKS = ['L0', 'L1'] as const
const KEYS = ['k0', 'k1', 'k2'] as const
const WATCHER = 'watcher'

const user = fc.constantFrom(...USERS)
const revisionMode = fc.constantFrom('none', 'none', 'current', 'current', 'stale') // -1, what is stored now, anything else
const op = fc.oneof(
  { weight: 3, arbitrary: fc.record({ t: fc.constant('login' as const), user, resume: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('drop' as const), user }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('logout' as const), user }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('advance' as const), ms: fc.oneof(fc.integer({ min: 0, max: 3_000 }), fc.integer({ min: 5_000, max: 400_000 })) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('crash' as const) }) },
  { weight: 6, arbitrary: fc.record({ t: fc.constant('meta' as const), user, kind: fc.constantFrom('set', 'set', 'set', 'update', 'remove'), key: fc.constantFrom(...KEYS), item: revisionMode, major: revisionMode, channel: fc.boolean() }) },
  { weight: 5, arbitrary: fc.record({ t: fc.constant('lock' as const), user, lock: fc.constantFrom(...LOCKS), action: fc.constantFrom('set', 'acquire', 'acquireRetry', 'release', 'revoke', 'remove') }) },
  { weight: 5, arbitrary: fc.record({ t: fc.constant('topic' as const), user, action: fc.constantFrom('join', 'publish', 'publish', 'publish', 'subscribe', 'resend', 'burst') }) },
)
type Op = typeof op extends fc.Arbitrary<infer T> ? T : never

class Simulation {
  coordinator = new Coordinator()
  now = 1_000_000
  readonly store = new Map<string, unknown>()
  private readonly conns = new Map<string, string | null>()
  private readonly resumeKeys = new Map<string, string>()
  private readonly lastPublish = new Map<string, { id: number; request: EngineRequest }>()
  private connSeq = 0
  private requestId = 1
  private publishCount = 0
  private lastRevisionWrite = 0
  /** (set, key) → highest revision ever stored: a key re-added later must get a higher one. */
  private readonly maxItemRevision = new Map<string, number>()
  /** Per receiving user, per publisher: last seq and payload number seen on the ordered topic. */
  private readonly received = new Map<string, { seq: number; n: number }>()
  /** Lock state as the watcher hears it: an ACQUIRED needs a free lock before it. */
  private readonly heard = new Map<string, string>()

  constructor() {
    this.connect(WATCHER, false)
  }

  run(step: Op): void {
    switch (step.t) {
      case 'login': return this.connect(step.user, step.resume)
      case 'drop': {
        const conn = this.conns.get(step.user)
        if (!conn) return
        this.conns.set(step.user, null)
        return this.apply(this.coordinator.disconnect(conn, this.now))
      }
      case 'logout': return void this.send(step.user, { op: 'logout', args: {} })
      case 'advance':
        this.now += step.ms
        this.apply(this.coordinator.tick(this.now))
        // The watcher stays: it heartbeats, and comes back if it was timed out anyway.
        if (!this.send(WATCHER, { op: 'heartbeat', args: {} })?.ok) this.connect(WATCHER, false)
        return
      case 'crash': return this.crash()
      case 'meta': return this.meta(step)
      case 'lock': return this.lock(step)
      case 'topic': return this.topic(step)
    }
  }

  /** A coordinator restored from the store holds exactly the live metadata and locks. */
  checkDurable(): void {
    const fresh = new Coordinator()
    fresh.restore(this.entries())
    const live = this.coordinator.app('app')
    const restored = fresh.app('app')
    expect(restored?.storage.dump() ?? {}).toEqual(live?.storage.dump() ?? {})
    expect(sortLocks(restored?.locks.snapshotAll() ?? [])).toEqual(sortLocks(live?.locks.snapshotAll() ?? []))
  }

  private crash(): void {
    this.checkDurable()
    this.coordinator = new Coordinator()
    this.coordinator.restore(this.entries())
    for (const id of this.conns.keys()) this.conns.set(id, null)
    // Clients start over on the new coordinator: their SDKs forget seqs, and the watcher rejoins.
    this.received.clear()
    this.heard.clear()
    this.connect(WATCHER, false)
  }

  private connect(userId: string, resume: boolean): void {
    const conn = `${userId}#${++this.connSeq}`
    const args = { appId: 'app', userId, heartbeatInterval: 1800, presenceTimeout: 30, ...(resume ? { resumeKey: this.resumeKeys.get(userId) } : {}) }
    const handled = this.coordinator.login(conn, args, { tokenExpiresAt: null, newResumeKey: `key-${this.connSeq}` }, this.now)
    this.apply(handled)
    if (!handled.reply?.ok) return
    const previous = this.conns.get(userId)
    if (previous) this.apply(this.coordinator.disconnect(previous, this.now))
    this.conns.set(userId, conn)
    this.resumeKeys.set(userId, String(handled.reply.result.resumeKey))
    if (!handled.reply.result.resumed) {
      this.forgetReceived(userId)
      // A resend is exactly-once within a session only (README: at least once when the
      // session is lost), so the 'resend' step only replays requests of the current session.
      this.lastPublish.delete(userId)
    }
    if (userId === WATCHER) {
      this.send(WATCHER, { op: 'subscribe', args: { channelName: 'room', withLock: true, withMetadata: true } })
      for (const lock of this.coordinator.app('app')?.locks.snapshotAll() ?? []) this.heard.set(lock.lockName, lock.owner)
    }
  }

  private meta(step: Extract<Op, { t: 'meta' }>): void {
    const storeKey = step.channel ? 'meta/c/1/room' : `meta/u/${step.user}`
    const before = this.coordinator.app('app')?.storage.dump() ?? {}
    const set: MetadataData | undefined = before[storeKey]
    const current = set?.metadata[step.key]?.revision
    const itemRevision = step.item === 'none' ? -1 : step.item === 'current' ? (current ?? 0) : (current ?? 7) + 1
    const majorRevision = step.major === 'none' ? -1 : step.major === 'current' ? (set?.majorRevision ?? 0) : (set?.majorRevision ?? 0) + 3
    const items = [{ key: step.key, value: `${step.user}@${this.now}`, revision: itemRevision }]
    const options = { majorRevision, addTimeStamp: true, addUserId: true }
    const name = `${step.kind}${step.channel ? 'Channel' : 'User'}Metadata` as 'setChannelMetadata'
    const args = step.channel ? { channelName: 'room', channelType: 1 as const, items, ...options } : { items, ...options }
    this.ensure(step.user)
    const writesBefore = this.store.size + this.lastRevisionWrite
    const reply = this.send(step.user, { op: name, args } as EngineRequest)
    const stale = step.item === 'stale' || step.major === 'stale'
    if (stale && reply) {
      // A CAS with a stale revision never writes.
      expect(reply.ok).toBe(false)
      expect(this.coordinator.app('app')?.storage.dump() ?? {}).toEqual(before)
      expect(this.store.size + this.lastRevisionWrite).toBe(writesBefore)
    }
  }

  /** Like an SDK: an action of a user who is not connected logs in first (resuming when it can). */
  private ensure(userId: string): void {
    if (!this.conns.get(userId)) this.connect(userId, true)
  }

  /** Sends; when the reply is one of `codes`, runs `fix` and sends once more (as an app would). */
  private sendFixing(userId: string, request: EngineRequest, codes: number[], fix: () => void, id?: number): Reply | null {
    const reply = this.send(userId, request, id)
    if (!reply || reply.ok || !codes.includes(reply.error.errorCode)) return reply
    fix()
    return this.send(userId, request)
  }

  private lock(step: Extract<Op, { t: 'lock' }>): void {
    const target = { channelName: 'room', channelType: 1 as const, lockName: step.lock }
    const owner = this.coordinator.app('app')?.locks.snapshotAll().find((lock) => lock.lockName === step.lock)?.owner ?? ''
    const request: EngineRequest = step.action === 'set' ? { op: 'setLock', args: { ...target, ttl: 10 } }
      : step.action === 'acquire' ? { op: 'acquireLock', args: { ...target, retry: false } }
      : step.action === 'acquireRetry' ? { op: 'acquireLock', args: { ...target, retry: true } }
      : step.action === 'release' ? { op: 'releaseLock', args: target }
      : step.action === 'revoke' ? { op: 'revokeLock', args: { ...target, owner: owner || step.user } }
      : { op: 'removeLock', args: target }
    this.ensure(step.user)
    const reply = this.sendFixing(step.user, request, [-14008], () => this.send(step.user, { op: 'setLock', args: { ...target, ttl: 10 } }))
    if (reply?.ok && request.op === 'acquireLock') this.expectOwner(step.lock, step.user)
  }

  private topic(step: Extract<Op, { t: 'topic' }>): void {
    const channelName = 'stage'
    this.ensure(step.user)
    const joinChannel = () => this.send(step.user, { op: 'joinStream', args: { channelName } })
    const joinTopic = () => {
      joinChannel()
      this.send(step.user, { op: 'joinTopic', args: { channelName, topicName: 'ticks', qos: 1 } })
    }
    if (step.action === 'join') {
      joinTopic()
    } else if (step.action === 'subscribe') {
      this.sendFixing(step.user, { op: 'subscribeTopic', args: { channelName, topicName: 'ticks' } }, [-11001], joinChannel)
    } else if (step.action === 'publish') {
      const request: EngineRequest = { op: 'publishTopicMessage', args: { channelName, topicName: 'ticks', message: String(++this.publishCount) } }
      const id = this.requestId++
      this.lastPublish.set(step.user, { id, request })
      this.sendFixing(step.user, request, [-11001, -11016], joinTopic, id)
    } else if (step.action === 'burst') {
      // More unanswered publishes than the reply cache holds, then a reconnect: the SDK resends them all.
      const burst: { id: number; request: EngineRequest }[] = []
      for (let i = 0; i < 70; i++) {
        const request: EngineRequest = { op: 'publishTopicMessage', args: { channelName, topicName: 'ticks', message: String(++this.publishCount) } }
        burst.push({ id: this.requestId++, request })
      }
      for (const { id, request } of burst) this.sendFixing(step.user, request, [-11001, -11016], joinTopic, id)
      this.run({ t: 'drop', user: step.user })
      this.connect(step.user, true)
      for (const { id, request } of burst) this.send(step.user, request, id)
    } else {
      // The SDK resends an unanswered request with its id after a reconnect; it must not arrive twice.
      const last = this.lastPublish.get(step.user)
      if (last) this.send(step.user, last.request, last.id)
    }
  }

  private send(userId: string, request: EngineRequest, id = this.requestId++): Reply | null {
    const conn = this.conns.get(userId)
    if (!conn) return null
    const handled = this.coordinator.handle(conn, id, request, this.now)
    this.apply(handled)
    if (handled.reply?.ok && /^(set|update|remove)(Channel|User)Metadata$/.test(request.op)) {
      // Acknowledged only with its writes in the same output (the host commits them first).
      expect(handled.writes.length).toBeGreaterThan(0)
    }
    if (request.op === 'logout' && handled.reply?.ok) this.conns.set(userId, null)
    return handled.reply
  }

  private apply(output: Output | Handled): void {
    for (const { key, value } of output.writes) {
      if (key === 'app/app/meta/rev') {
        // Revisions only grow.
        expect(Number(value)).toBeGreaterThan(this.lastRevisionWrite)
        this.lastRevisionWrite = Number(value)
      }
      if (value === null) this.store.delete(key)
      else this.store.set(key, structuredClone(value))
    }
    const sets = output.writes.length > 0 ? this.coordinator.app('app')?.storage.dump() ?? {} : {}
    for (const [storeKey, set] of Object.entries(sets)) {
      expect(set.majorRevision).toBeLessThanOrEqual(this.lastRevisionWrite)
      for (const [key, item] of Object.entries(set.metadata)) {
        expect(item.revision).toBeLessThanOrEqual(set.majorRevision)
        const seen = this.maxItemRevision.get(`${storeKey}/${key}`) ?? 0
        expect(item.revision).toBeGreaterThanOrEqual(seen)
        this.maxItemRevision.set(`${storeKey}/${key}`, item.revision)
      }
    }
    for (const { to, event } of output.sends) {
      for (const conn of to) {
        const receiver = conn.slice(0, conn.indexOf('#'))
        if (event.kind === 'message' && event.topicName === 'ticks') {
          // Ordered topic: per publisher, seq and payload only go up — no reorder, no duplicate.
          const key = `${receiver}<${event.publisher}`
          const last = this.received.get(key) ?? { seq: 0, n: 0 }
          expect(event.seq!).toBeGreaterThan(last.seq)
          expect(Number(event.message)).toBeGreaterThan(last.n)
          this.received.set(key, { seq: event.seq!, n: Number(event.message) })
        }
        if (event.kind === 'lock' && receiver === WATCHER && event.eventType !== LockEventType.SNAPSHOT) {
          // At most one owner: an ACQUIRED only ever follows a free lock.
          if (event.eventType === LockEventType.ACQUIRED) expect(this.heard.get(event.lockName) ?? '').toBe('')
          this.heard.set(event.lockName, event.owner)
        }
      }
    }
    for (const late of output.replies ?? []) {
      if (late.reply.ok) this.expectOwner(String(late.reply.result.lockName), late.conn.slice(0, late.conn.indexOf('#')))
    }
  }

  private expectOwner(lockName: string, userId: string): void {
    const lock = this.coordinator.app('app')?.locks.snapshotAll().find((l) => l.lockName === lockName)
    expect(lock?.owner).toBe(userId)
  }

  private forgetReceived(userId: string): void {
    for (const key of [...this.received.keys()]) if (key.startsWith(`${userId}<`)) this.received.delete(key)
  }

  private entries(): Write[] {
    return [...this.store].map(([key, value]) => ({ key, value }))
  }
}

function sortLocks<T extends { lockName: string; channelName: string }>(locks: T[]): T[] {
  return [...locks].sort((a, b) => `${a.channelName}/${a.lockName}`.localeCompare(`${b.channelName}/${b.lockName}`))
}

describe('engine simulation (fast-check)', () => {
  it('keeps one lock owner at most, growing revisions, stale CAS harmless, acknowledged writes durable, ordered topics ordered', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 20, maxLength: 200 }), (steps) => {
        const sim = new Simulation()
        for (const step of steps) sim.run(step)
        sim.checkDurable()
      }),
      { numRuns: Number(process.env.SIMULATION_RUNS ?? 300) },
    )
  })
})

