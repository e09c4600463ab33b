import { ChannelType, LockEventType, type LockEventTypeName } from '../protocol/enums'
import { rtmError } from '../protocol/errors'
import type { LockDetail } from '../protocol/events'
import type { LockOp } from '../protocol/feature-requests'
import type { Request } from '../protocol/requests'
import { ANSWER_LATER, keyPart, listenersOf, type EngineContext, type Outcome } from './context'
import type { Effects, Write } from './effects'
import { channelKey, type Channel, type Session } from './model'
import type { SharedQuota } from './quota'
import { isValidName } from './validate'

/**
 * Lock limits. Seed 000 "setLock": ttl in [10, 300] s (-10014 outside). Ours: locks per
 * channel and waiters per lock, so that one channel's table stays bounded (-14001).
 */
export const LOCK_TTL_RANGE = [10, 300] as const
export const MAX_LOCKS_PER_CHANNEL = 64
/** Lock definitions of one app across its channels: each is a durable row (ours, not the seed's). */
export const MAX_LOCKS_PER_APP = 1000
export const MAX_WAITERS_PER_LOCK = 256

export type LockRequest = Extract<Request, { op: LockOp }>

interface Waiter { session: Session; requestId: number }

interface Lock {
  channelType: 1 | 2
  channelName: string
  lockName: string
  ttl: number
  /** userId of the holder, '' when free. Ownership is by user: the holder may come back on a new session. */
  owner: string
  /** Since when the holder has had no connection; the lock is theirs until this + ttl. */
  ownerOfflineSince: number | null
  /** acquireLock with retry, first come first served. */
  waiters: Waiter[]
}

/** What the store keeps of a lock: its definition and its holder. */
interface StoredLock { channelType: 1 | 2; channelName: string; lockName: string; ttl: number; owner: string }

/** Named locks per message or stream channel (seed 000 "Lock"), for one app. */
export class Locks {
  /** channel key → lock name → lock. */
  private readonly channels = new Map<string, Map<string, Lock>>()
  private count = 0

  constructor(private readonly ctx: EngineContext, private readonly quota: SharedQuota['locks']) {}

  handle(session: Session, request: LockRequest, requestId: number, fx: Effects, now: number): Outcome {
    const op = request.op
    const { channelName, channelType } = request.args
    if (channelType !== ChannelType.MESSAGE && channelType !== ChannelType.STREAM) return rtmError('INVALID_CHANNEL_TYPE', op, 'locks exist on MESSAGE and STREAM channels')
    if (!isValidName(channelName)) return rtmError('INVALID_CHANNEL_NAME', op, 'channel names are 1–64 printable ASCII characters')
    const key = channelKey(channelType, channelName)
    if (op === 'getLock') {
      const lockDetails = this.details(key)
      return { channelName, channelType, totalLocks: lockDetails.length, lockDetails }
    }
    const { lockName } = request.args
    if (!isValidName(lockName)) return rtmError('LOCK_INVALID_NAME', op, 'lock names are 1–64 printable ASCII characters')
    const done = { channelName, channelType, lockName }
    if (op === 'setLock') {
      const ttl = request.args.ttl
      if (ttl === undefined || !Number.isInteger(ttl) || ttl < LOCK_TTL_RANGE[0] || ttl > LOCK_TTL_RANGE[1]) {
        return rtmError('INVALID_PARAMETER', op, `ttl must be an integer within [${LOCK_TTL_RANGE[0]}, ${LOCK_TTL_RANGE[1]}] seconds`)
      }
      const locks = this.channels.get(key) ?? new Map<string, Lock>()
      if (locks.has(lockName)) return rtmError('LOCK_ALREADY_EXIST', op, `lock "${lockName}" already exists; remove it first to change its ttl`)
      if (locks.size >= MAX_LOCKS_PER_CHANNEL) return rtmError('LOCK_OPERATION_FAILED', op, `at most ${MAX_LOCKS_PER_CHANNEL} locks per channel`)
      if (this.count >= MAX_LOCKS_PER_APP) return rtmError('LOCK_OPERATION_FAILED', op, `this app has ${MAX_LOCKS_PER_APP} locks, the most it may have; remove some first`)
      if (this.quota.used >= this.quota.limit) return rtmError('LOCK_OPERATION_FAILED', op, `the coordinator holds ${this.quota.limit} locks across all apps, the most it may; remove some first`)
      this.count++
      this.quota.used++
      const lock: Lock = { channelType, channelName, lockName, ttl, owner: '', ownerOfflineSince: null, waiters: [] }
      locks.set(lockName, lock)
      this.channels.set(key, locks)
      this.changed(lock, 'SET', session.userId, fx, now)
      return done
    }
    const lock = this.channels.get(key)?.get(lockName)
    if (!lock) return rtmError('LOCK_NOT_EXIST', op, `no lock "${lockName}" in channel "${channelName}"`)
    switch (op) {
      case 'acquireLock': {
        if (lock.owner === session.userId) return done
        if (!lock.owner) {
          this.grant(lock, session, fx, now)
          return done
        }
        if (!request.args.retry) return rtmError('LOCK_ACQUIRE_FAILED', op, `lock "${lockName}" is held by "${lock.owner}"`)
        const waiting = lock.waiters.find((waiter) => waiter.session === session)
        // A resend (or a second call) replaces the request id we answer when the lock comes.
        if (waiting) {
          if (waiting.requestId !== requestId) this.ctx.answerLater(session, waiting.requestId, failure(lock, 'LOCK_ACQUIRE_FAILED', 'a newer acquireLock for this lock took its place in line'), fx)
          waiting.requestId = requestId
        } else {
          if (lock.waiters.length >= MAX_WAITERS_PER_LOCK) return rtmError('LOCK_OPERATION_FAILED', op, `at most ${MAX_WAITERS_PER_LOCK} users wait for one lock`)
          lock.waiters.push({ session, requestId })
        }
        return ANSWER_LATER
      }
      case 'releaseLock':
        if (lock.owner !== session.userId) return rtmError('LOCK_NOT_ACQUIRED', op, `you do not hold lock "${lockName}"`)
        this.free(lock, session.userId, fx, now)
        return done
      case 'revokeLock':
        if (!lock.owner || lock.owner !== request.args.owner) return rtmError('LOCK_NOT_ACQUIRED', op, `lock "${lockName}" is not held by "${request.args.owner}"`)
        this.free(lock, session.userId, fx, now)
        return done
      case 'removeLock': {
        this.channels.get(key)?.delete(lockName)
        this.count--
        this.quota.used--
        if (this.channels.get(key)?.size === 0) this.channels.delete(key)
        for (const waiter of lock.waiters) this.ctx.answerLater(waiter.session, waiter.requestId, failure(lock, 'LOCK_NOT_AVAILABLE', `lock "${lockName}" was removed`), fx)
        lock.waiters = []
        fx.write(storeKey(lock), null)
        this.notify(lock, 'REMOVED', session.userId, fx, now)
        return done
      }
      default: {
        const unhandled: never = op
        return rtmError('INVALID_PARAMETER', unhandled, 'operation not supported')
      }
    }
  }

  /** Whether `userId` holds `lockName` in a channel (storage writes guarded by a lock). */
  holds(type: number, channelName: string, lockName: string, userId: string): boolean | 'no-lock' {
    const lock = this.channels.get(channelKey(type, channelName))?.get(lockName)
    return lock ? lock.owner === userId : 'no-lock'
  }

  /** The lock SNAPSHOT for a member that subscribed or joined withLock. */
  sendSnapshot(session: Session, type: 1 | 2, channelName: string, fx: Effects, now: number): void {
    if (!session.connId) return
    fx.send(session.connId, {
      kind: 'lock', channelType: type, channelName, eventType: LockEventType.SNAPSHOT, lockName: '', ttl: 0,
      publisher: '', snapshot: this.details(channelKey(type, channelName)), owner: '', timestamp: now,
    })
  }

  /** The holder lost its connection: its locks stay theirs for ttl from now. */
  userOffline(userId: string, now: number): void {
    for (const lock of this.all()) if (lock.owner === userId) lock.ownerOfflineSince ??= now
  }

  /** A member left a channel: its waits there end without the lock (seed: "until … the user leaves the channel"). */
  exited(session: Session, channel: Channel, fx: Effects): void {
    for (const lock of this.channels.get(channel.key)?.values() ?? []) this.dropWaiter(lock, session, 'you left the channel', fx)
  }

  /** A session ended (timeout, logout, replaced): its waits end; on logout its locks are let go at once. */
  sessionEnded(session: Session, loggedOut: boolean, fx: Effects, now: number): void {
    for (const lock of this.all()) {
      this.dropWaiter(lock, session, 'the session ended', fx)
      if (loggedOut && lock.owner === session.userId) this.free(lock, session.userId, fx, now)
    }
  }

  /** Locks whose holder stayed offline for ttl expire; the next in line gets them. */
  tick(fx: Effects, now: number): void {
    for (const lock of this.all()) {
      if (!lock.owner) continue
      if (this.ctx.sessions.get(lock.owner)?.connId) {
        lock.ownerOfflineSince = null
        continue
      }
      // After a restart nobody is connected yet: the offline clock starts at the first tick.
      lock.ownerOfflineSince ??= now
      if (now < lock.ownerOfflineSince + lock.ttl * 1000) continue
      this.notify(lock, 'EXPIRED', '', fx, now)
      this.free(lock, '', fx, now)
    }
  }

  restore(entry: Write): void {
    const stored = entry.value as StoredLock | null
    if (!stored) return
    const key = channelKey(stored.channelType, stored.channelName)
    const locks = this.channels.get(key) ?? new Map<string, Lock>()
    if (!locks.has(stored.lockName)) {
      this.count++
      this.quota.used++
    }
    locks.set(stored.lockName, { ...stored, ownerOfflineSince: null, waiters: [] })
    this.channels.set(key, locks)
  }

  get isEmpty(): boolean {
    return this.channels.size === 0
  }

  /** Every lock with its holder (tests and the simulation check "one owner at most" on it). */
  snapshotAll(): StoredLock[] {
    return [...this.all()].map(stored)
  }

  private *all(): Iterable<Lock> {
    for (const locks of this.channels.values()) yield* [...locks.values()]
  }

  private details(key: string): LockDetail[] {
    return [...(this.channels.get(key)?.values() ?? [])].map((lock) => ({ lockName: lock.lockName, owner: lock.owner, ttl: lock.ttl }))
  }

  private grant(lock: Lock, session: Session, fx: Effects, now: number): void {
    lock.owner = session.userId
    lock.ownerOfflineSince = session.connId ? null : now
    this.changed(lock, 'ACQUIRED', session.userId, fx, now)
  }

  /** The holder lets go (release, revoke, expiry, logout); the first waiter in line gets the lock. */
  private free(lock: Lock, publisher: string, fx: Effects, now: number): void {
    lock.owner = ''
    lock.ownerOfflineSince = null
    this.changed(lock, 'RELEASED', publisher, fx, now)
    const next = lock.waiters.shift()
    if (!next) return
    this.grant(lock, next.session, fx, now)
    this.ctx.answerLater(next.session, next.requestId, { ok: true, result: { channelName: lock.channelName, channelType: lock.channelType, lockName: lock.lockName } }, fx)
  }

  private dropWaiter(lock: Lock, session: Session, why: string, fx: Effects): void {
    const index = lock.waiters.findIndex((waiter) => waiter.session === session)
    if (index < 0) return
    const [waiter] = lock.waiters.splice(index, 1)
    this.ctx.answerLater(session, waiter.requestId, failure(lock, 'LOCK_NOT_AVAILABLE', `stopped waiting for lock "${lock.lockName}": ${why}`), fx)
  }

  /** A durable change: written before anyone hears of it. */
  private changed(lock: Lock, type: LockEventTypeName, publisher: string, fx: Effects, now: number): void {
    fx.write(storeKey(lock), stored(lock))
    this.notify(lock, type, publisher, fx, now)
  }

  private notify(lock: Lock, type: LockEventTypeName, publisher: string, fx: Effects, now: number): void {
    fx.send(listenersOf(this.ctx.presence, lock.channelType, lock.channelName, 'withLock'), {
      kind: 'lock', channelType: lock.channelType, channelName: lock.channelName, eventType: LockEventType[type],
      lockName: lock.lockName, ttl: lock.ttl, publisher, snapshot: [], owner: lock.owner, timestamp: now,
    })
  }
}

function stored(lock: Lock): StoredLock {
  return { channelType: lock.channelType, channelName: lock.channelName, lockName: lock.lockName, ttl: lock.ttl, owner: lock.owner }
}

export function storeKey(lock: { channelType: number; channelName: string; lockName: string }): string {
  return `lock/${lock.channelType}/${keyPart(lock.channelName)}/${keyPart(lock.lockName)}`
}

function failure(lock: Lock, name: 'LOCK_NOT_AVAILABLE' | 'LOCK_ACQUIRE_FAILED', reason: string) {
  return { ok: false as const, error: rtmError(name, 'acquireLock', `${reason} (channel "${lock.channelName}")`) }
}
