import { ChannelType, StorageEventType, StorageType, type StorageEventTypeName } from '../protocol/enums'
import { rtmError, type RtmErrorInfo } from '../protocol/errors'
import type { MetadataData, MetadataDetail } from '../protocol/events'
import type { StorageOp } from '../protocol/feature-requests'
import type { ArgsOf, Request } from '../protocol/requests'
import { keyPart, listenersOf, type EngineContext, type Outcome } from './context'
import type { ConnId, Effects, Write } from './effects'
import type { Locks } from './locks'
import type { Session } from './model'
import type { SharedQuota } from './quota'
import { byteLength, isValidName } from './validate'

/**
 * Storage limits. Seed 000 names the codes but leaves the numbers to "API usage limits";
 * ours: a key is 1–64 bytes (-12009 empty, -12011 longer), a value at most 8 KiB (-12012),
 * a set at most 256 items (-12002) and 64 KiB of keys and values (-12006), one call at
 * most 256 items. The rate limit is the seed's: 10 storage calls per second per user (-10021).
 * Users follow at most 100 users' metadata (-12017).
 */
export const MAX_KEY_BYTES = 64
export const MAX_VALUE_BYTES = 8 * 1024
export const MAX_ITEMS_PER_SET = 256
export const MAX_SET_BYTES = 64 * 1024
export const MAX_ITEMS_PER_CALL = 256
export const RATE_LIMIT_CALLS = 10
export const RATE_LIMIT_WINDOW_MS = 1000
export const MAX_FOLLOWED_USERS = 100
/** Keys and values of all of an app's metadata sets: the store cannot grow without bound (ours, not the seed's). */
export const MAX_APP_METADATA_BYTES = 16 * 1024 * 1024

/** User metadata keys a room member's entry shows (seed 003 PUBLISH_LIST_CHANGED: username, fullname, avatar). */
export const PROFILE_KEYS = ['username', 'fullname', 'avatar'] as const
export type ProfileKey = (typeof PROFILE_KEYS)[number]

export type StorageRequest = Extract<Request, { op: StorageOp }>
type WriteOp = 'set' | 'update' | 'remove'
type WriteArgs = ArgsOf<'setChannelMetadata'> | ArgsOf<'setUserMetadata'>

/** One metadata set: a channel's or a user's. */
interface MetadataSet { majorRevision: number; items: Map<string, MetadataDetail>; bytes: number }
interface Target { storageType: 1 | 2; channelType: number; name: string; storeKey: string }

/**
 * Channel metadata (message and stream channels) and user metadata with CAS (seed 000
 * "Storage", "Metadata"). Every write takes the next value of one per-app counter as the
 * revision of each item it writes and as the set's majorRevision, so revisions only grow
 * and never repeat, even after remove and re-add (the counter is stored with each write).
 */
export class Storage {
  private readonly sets = new Map<string, MetadataSet>()
  /** Bytes of keys and values across `sets` (MAX_APP_METADATA_BYTES). */
  private totalBytes = 0
  /** Followed user → sessions following them. */
  private readonly followers = new Map<string, Set<Session>>()
  /** userId → times of recent storage calls (sliding window). */
  private readonly calls = new Map<string, number[]>()
  private revision = 0

  constructor(private readonly ctx: EngineContext, private readonly locks: Locks, private readonly quota: SharedQuota['metadataBytes']) {}

  handle(session: Session, request: StorageRequest, fx: Effects, now: number): Outcome {
    const op = request.op
    // Following a user moves no data, and a reconnect restores up to 100 follows at once.
    const counted = op !== 'subscribeUserMetadata' && op !== 'unsubscribeUserMetadata'
    const limited = counted ? this.rateLimit(session.userId, op, now) : null
    if (limited) return limited
    switch (op) {
      case 'getChannelMetadata': {
        const target = channelTarget(request.args.channelName, request.args.channelType, op)
        if (isError(target)) return target
        return { channelName: target.name, channelType: target.channelType, ...this.data(target.storeKey) }
      }
      case 'getUserMetadata': {
        const target = userTarget(request.args.userId ?? session.userId, op)
        if (isError(target)) return target
        return { userId: target.name, ...this.data(target.storeKey) }
      }
      case 'subscribeUserMetadata': {
        const target = userTarget(request.args.userId, op)
        if (isError(target)) return target
        const followers = this.followers.get(target.name) ?? new Set<Session>()
        if (!followers.has(session) && this.followedBy(session) >= MAX_FOLLOWED_USERS) {
          return rtmError('STORAGE_SUBSCRIBE_USER_EXCEED_LIMITATION', op, `one user follows at most ${MAX_FOLLOWED_USERS} users' metadata`)
        }
        followers.add(session)
        this.followers.set(target.name, followers)
        if (session.connId) this.emit([session.connId], target, 'SNAPSHOT', '', this.data(target.storeKey), now, fx)
        return { userId: target.name }
      }
      case 'unsubscribeUserMetadata': {
        const followers = this.followers.get(request.args.userId)
        if (!followers?.delete(session)) return rtmError('STORAGE_NOT_SUBSCRIBE', op, `you do not follow "${request.args.userId}"'s metadata`)
        if (followers.size === 0) this.followers.delete(request.args.userId)
        return { userId: request.args.userId }
      }
      case 'setChannelMetadata': case 'updateChannelMetadata': case 'removeChannelMetadata': {
        const { channelName, channelType, lockName } = request.args
        const target = channelTarget(channelName, channelType, op)
        if (isError(target)) return target
        if (lockName !== undefined) {
          if (!isValidName(lockName)) return rtmError('STORAGE_INVALID_LOCK_NAME', op, 'lock names are 1–64 printable ASCII characters')
          const holds = this.locks.holds(channelType, channelName, lockName, session.userId)
          if (holds !== true) return rtmError('STORAGE_LOCK_NOT_ACQUIRED', op, holds === 'no-lock' ? `no lock "${lockName}" in this channel` : `acquire lock "${lockName}" before writing`)
        }
        return this.write(session, target, writeOpOf(op), request.args, op, fx, now) ?? { channelName, channelType, majorRevision: this.sets.get(target.storeKey)?.majorRevision ?? 0 }
      }
      case 'setUserMetadata': case 'updateUserMetadata': case 'removeUserMetadata': {
        const target = userTarget(request.args.userId ?? session.userId, op)
        if (isError(target)) return target
        return this.write(session, target, writeOpOf(op), request.args, op, fx, now) ?? { userId: target.name, majorRevision: this.sets.get(target.storeKey)?.majorRevision ?? 0 }
      }
      default: {
        const unhandled: never = op
        return rtmError('INVALID_PARAMETER', unhandled, 'operation not supported')
      }
    }
  }

  /** The channel metadata SNAPSHOT for a member that subscribed or joined withMetadata. */
  sendSnapshot(session: Session, type: 1 | 2, channelName: string, fx: Effects, now: number): void {
    if (!session.connId) return
    const target = channelTarget(channelName, type, 'snapshot') as Target
    this.emit([session.connId], target, 'SNAPSHOT', '', this.data(target.storeKey), now, fx)
  }

  /** The user's profile keys (PROFILE_KEYS) from its metadata, where set: what a room's publisher list shows. */
  profileOf(userId: string): Partial<Record<ProfileKey, string>> {
    const set = this.sets.get(`meta/u/${keyPart(userId)}`)
    const profile: Partial<Record<ProfileKey, string>> = {}
    for (const key of PROFILE_KEYS) {
      const detail = set?.items.get(key)
      if (detail) profile[key] = detail.value
    }
    return profile
  }

  sessionEnded(session: Session): void {
    for (const [userId, followers] of this.followers) {
      followers.delete(session)
      if (followers.size === 0) this.followers.delete(userId)
    }
    this.calls.delete(session.userId)
  }

  restore(entry: Write): void {
    if (entry.key === REVISION_KEY) {
      this.revision = Math.max(this.revision, Number(entry.value) || 0)
      return
    }
    const stored = entry.value as { majorRevision: number; items: Record<string, MetadataDetail> } | null
    if (!stored) return
    const items = new Map(Object.entries(stored.items))
    const bytes = setBytes(items)
    const added = bytes - (this.sets.get(entry.key)?.bytes ?? 0)
    this.totalBytes += added
    this.quota.used += added
    this.sets.set(entry.key, { majorRevision: stored.majorRevision, items, bytes })
    this.revision = Math.max(this.revision, stored.majorRevision)
  }

  get isEmpty(): boolean {
    return this.sets.size === 0 && this.followers.size === 0
  }

  /** The last revision handed out; a new app engine for the same app continues above it. */
  get lastRevision(): number {
    return this.revision
  }

  set lastRevision(value: number) {
    this.revision = Math.max(this.revision, value)
  }

  /** Every set as stored (tests and the simulation compare it with a restored copy). */
  dump(): Record<string, MetadataData> {
    return Object.fromEntries([...this.sets.keys()].sort().map((key) => [key, this.data(key)]))
  }

  /** Applies a set/update/remove, or returns why not; nothing changes unless every check passes. */
  private write(session: Session, target: Target, kind: WriteOp, args: WriteArgs, op: string, fx: Effects, now: number): RtmErrorInfo | null {
    const items = args.items ?? []
    const current = this.sets.get(target.storeKey)
    const invalid = checkItems(items, kind, op)
    if (invalid) return invalid
    const majorRevision = args.majorRevision ?? -1
    if (majorRevision < -1) return rtmError('STORAGE_INVALID_REVISION', op, 'majorRevision is -1 (no check) or the revision to compare with')
    if (majorRevision >= 0 && majorRevision !== (current?.majorRevision ?? 0)) {
      if (!current && majorRevision > 0) return rtmError('STORAGE_INVALID_METADATA_INSTANCE', op, `no metadata for "${target.name}" to compare majorRevision ${majorRevision} with`)
      return rtmError('STORAGE_OUTDATED_REVISION', op, `majorRevision is ${current?.majorRevision ?? 0}, not ${majorRevision}`)
    }
    if (kind !== 'set' && !current) return rtmError('STORAGE_INVALID_METADATA_INSTANCE', op, `no metadata for "${target.name}"`)
    for (const item of items) {
      const existing = current?.items.get(item.key)
      const revision = item.revision ?? -1
      if (revision === 0 && existing) return rtmError('STORAGE_OUTDATED_REVISION', op, `item "${item.key}" exists (revision ${existing.revision}); revision 0 means "only if absent"`)
      if (revision > 0 && !existing) return rtmError('STORAGE_INVALID_METADATA_ITEM', op, `item "${item.key}" does not exist; it cannot match revision ${revision}`)
      if (revision > 0 && existing!.revision !== revision) return rtmError('STORAGE_OUTDATED_REVISION', op, `item "${item.key}" is at revision ${existing!.revision}, not ${revision}`)
      if (kind !== 'set' && !existing) return rtmError('STORAGE_INVALID_METADATA_ITEM', op, `item "${item.key}" does not exist`)
    }

    const next = new Map(current?.items ?? [])
    // Keys are users' text: `__proto__` must stay a key, not set a prototype.
    const touched: Record<string, MetadataDetail> = Object.create(null)
    const revision = this.revision + 1
    if (kind === 'remove') {
      for (const key of items.length > 0 ? items.map((item) => item.key) : [...next.keys()]) {
        touched[key] = next.get(key)!
        next.delete(key)
      }
    } else {
      for (const item of items) {
        const detail = { value: item.value ?? '', revision, updated: args.addTimeStamp ? now : 0, authorUid: args.addUserId ? session.userId : '' }
        next.set(item.key, detail)
        touched[item.key] = detail
      }
      if (next.size > MAX_ITEMS_PER_SET) return rtmError('STORAGE_METADATA_ITEM_EXCEED_LIMITATION', op, `a metadata set holds at most ${MAX_ITEMS_PER_SET} items`)
    }
    const bytes = setBytes(next)
    if (bytes > MAX_SET_BYTES) return rtmError('STORAGE_METADATA_LENGTH_OVERFLOW', op, `a metadata set holds at most ${MAX_SET_BYTES} bytes of keys and values`)
    const totalBytes = this.totalBytes + bytes - (current?.bytes ?? 0)
    const added = bytes - (current?.bytes ?? 0)
    if (totalBytes > MAX_APP_METADATA_BYTES && added > 0) {
      return rtmError('STORAGE_METADATA_LENGTH_OVERFLOW', op, `this app's metadata is full (at most ${MAX_APP_METADATA_BYTES} bytes of keys and values in all); remove some first`)
    }
    if (this.quota.used + added > this.quota.limit && added > 0) {
      return rtmError('STORAGE_METADATA_LENGTH_OVERFLOW', op, `the coordinator's metadata store is full (${this.quota.limit} bytes across all apps); remove some first`)
    }

    this.revision = revision
    this.totalBytes = totalBytes
    this.quota.used += added
    fx.write(REVISION_KEY, revision)
    if (next.size === 0) {
      this.sets.delete(target.storeKey)
      fx.write(target.storeKey, null)
    } else {
      this.sets.set(target.storeKey, { majorRevision: revision, items: next, bytes })
      fx.write(target.storeKey, { majorRevision: revision, items: Object.fromEntries(next) })
    }
    const type = kind === 'set' ? 'SET' : kind === 'update' ? 'UPDATE' : 'REMOVE'
    this.emit(this.audience(target), target, type, session.userId, { totalCount: next.size, majorRevision: revision, metadata: touched }, now, fx)
    return null
  }

  private audience(target: Target): ConnId[] {
    if (target.storageType === StorageType.CHANNEL) return listenersOf(this.ctx.presence, target.channelType, target.name, 'withMetadata')
    const to: ConnId[] = []
    for (const follower of this.followers.get(target.name) ?? []) if (follower.connId) to.push(follower.connId)
    return to
  }

  private emit(to: ConnId[], target: Target, type: StorageEventTypeName, publisher: string, data: MetadataData, now: number, fx: Effects): void {
    fx.send(to, {
      kind: 'storage', channelType: target.channelType, channelName: target.name, publisher,
      storageType: target.storageType, eventType: StorageEventType[type], data, timestamp: now,
    })
  }

  private data(storeKey: string): MetadataData {
    const set = this.sets.get(storeKey)
    if (!set) return { totalCount: 0, majorRevision: 0, metadata: {} }
    return { totalCount: set.items.size, majorRevision: set.majorRevision, metadata: Object.fromEntries([...set.items].map(([key, detail]) => [key, { ...detail }])) }
  }

  private followedBy(session: Session): number {
    let count = 0
    for (const followers of this.followers.values()) if (followers.has(session)) count++
    return count
  }

  private rateLimit(userId: string, op: string, now: number): RtmErrorInfo | null {
    const recent = (this.calls.get(userId) ?? []).filter((at) => at > now - RATE_LIMIT_WINDOW_MS)
    if (recent.length >= RATE_LIMIT_CALLS) {
      this.calls.set(userId, recent)
      return rtmError('OPERATION_RATE_EXCEED_LIMITATION', op, `at most ${RATE_LIMIT_CALLS} storage calls per second; try again in ${recent[0] + RATE_LIMIT_WINDOW_MS - now} ms`)
    }
    recent.push(now)
    this.calls.set(userId, recent)
    return null
  }
}

function setBytes(items: Map<string, MetadataDetail>): number {
  let bytes = 0
  for (const [key, detail] of items) bytes += byteLength(key) + byteLength(detail.value)
  return bytes
}

/** Durable key of the app's revision counter. */
export const REVISION_KEY = 'meta/rev'

function channelTarget(channelName: string, channelType: number, op: string): Target | RtmErrorInfo {
  if (channelType !== ChannelType.MESSAGE && channelType !== ChannelType.STREAM) return rtmError('INVALID_CHANNEL_TYPE', op, 'channel metadata exists on MESSAGE and STREAM channels')
  if (!isValidName(channelName)) return rtmError('INVALID_CHANNEL_NAME', op, 'channel names are 1–64 printable ASCII characters')
  return { storageType: StorageType.CHANNEL, channelType, name: channelName, storeKey: `meta/c/${channelType}/${keyPart(channelName)}` }
}

function userTarget(userId: string, op: string): Target | RtmErrorInfo {
  if (!isValidName(userId)) return rtmError('INVALID_USER_ID', op, 'userId must be 1–64 printable ASCII characters')
  return { storageType: StorageType.USER, channelType: ChannelType.USER, name: userId, storeKey: `meta/u/${keyPart(userId)}` }
}

function checkItems(items: NonNullable<WriteArgs['items']>, kind: WriteOp, op: string): RtmErrorInfo | null {
  if (kind !== 'remove' && items.length === 0) return rtmError('STORAGE_INVALID_ARGUMENT', op, 'give at least one item')
  if (items.length > MAX_ITEMS_PER_CALL) return rtmError('STORAGE_METADATA_ITEM_EXCEED_LIMITATION', op, `at most ${MAX_ITEMS_PER_CALL} items per call`)
  const keys = new Set<string>()
  for (const item of items) {
    if (item.key.length === 0) return rtmError('STORAGE_INVALID_KEY', op, 'metadata keys must not be empty')
    const keyBytes = byteLength(item.key)
    if (keyBytes > MAX_KEY_BYTES) return rtmError('STORAGE_KEY_LENGTH_OVERFLOW', op, `key "${item.key.slice(0, 16)}…" is ${keyBytes} bytes; at most ${MAX_KEY_BYTES}`)
    if (keys.has(item.key)) return rtmError('STORAGE_DUPLICATE_KEY', op, `key "${item.key}" appears twice`)
    keys.add(item.key)
    if (item.revision !== undefined && item.revision < -1) return rtmError('STORAGE_INVALID_REVISION', op, `revision of "${item.key}" is -1 (no check), 0 (only if absent) or the revision to compare with`)
    if (kind === 'remove') continue
    if (item.value === undefined) return rtmError('STORAGE_INVALID_VALUE', op, `item "${item.key}" has no value`)
    const valueBytes = byteLength(item.value)
    if (valueBytes > MAX_VALUE_BYTES) return rtmError('STORAGE_VALUE_LENGTH_OVERFLOW', op, `value of "${item.key}" is ${valueBytes} bytes; at most ${MAX_VALUE_BYTES}`)
  }
  return null
}

function writeOpOf(op: StorageOp): WriteOp {
  return op.startsWith('set') ? 'set' : op.startsWith('update') ? 'update' : 'remove'
}

function isError(value: Target | RtmErrorInfo): value is RtmErrorInfo {
  return (value as RtmErrorInfo).error === true
}
