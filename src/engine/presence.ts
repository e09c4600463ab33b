import { PresenceEventType, ChannelType } from '../protocol/enums'
import type { IntervalDetail, PresenceEvent, UserState } from '../protocol/events'
import { rtmError, type RtmErrorInfo } from '../protocol/errors'
import type { ConnId, Effects } from './effects'
import { channelKey, type Channel, type MemberOptions, type Membership, type Session } from './model'
import { byteLength } from './validate'

/** whoNow page size (seed 000 leaves it open). */
export const WHO_NOW_PAGE_SIZE = 100
/** Temporary state limits (seed 000 defers to "API usage limits"; our choice, README). */
export const MAX_STATE_ITEMS = 32
export const MAX_STATE_KEY_BYTES = 64
export const MAX_STATE_TOTAL_BYTES = 8192
export const MAX_CACHED_STATE_CHANNELS = 10

export type LeaveCause = 'REMOTE_LEAVE' | 'REMOTE_TIMEOUT'

export interface PresenceConfig {
  /** Above this many visible members a channel's presence goes INTERVAL (seed 000). */
  intervalThreshold: number
  intervalMs: number
}

/** Channel membership and everything seed 000 calls presence, for one app. */
export class Presence {
  readonly channels = new Map<string, Channel>()
  /** Told after a membership ended (leave, unsubscribe, timeout): topics and lock waits clean up. */
  onExit: ((session: Session, channel: Channel, fx: Effects, now: number) => void) | null = null

  constructor(private readonly config: PresenceConfig) {}

  /** Adds (or updates) a membership; announces it and sends the snapshot. Idempotent. */
  enter(session: Session, type: 1 | 2, name: string, options: MemberOptions, fx: Effects, now: number): void {
    const key = channelKey(type, name)
    let channel = this.channels.get(key)
    if (!channel) {
      channel = { key, type, name, members: new Map(), pending: null, visibleCount: 0, connsWith: {} }
      this.channels.set(key, channel)
    }
    const existing = session.memberships.get(key)
    channel.connsWith = {}
    if (existing) {
      const wasQuiet = existing.beQuiet
      Object.assign(existing, options)
      if (wasQuiet !== options.beQuiet) channel.visibleCount += options.beQuiet ? -1 : 1
      if (wasQuiet && !options.beQuiet) this.announce(channel, 'REMOTE_JOIN', session, fx, now)
      if (!wasQuiet && options.beQuiet) this.announce(channel, 'REMOTE_LEAVE', session, fx, now)
    } else {
      const states = session.cachedStates.get(key) ?? {}
      session.cachedStates.delete(key)
      const membership: Membership = { ...options, channel, states }
      session.memberships.set(key, membership)
      channel.members.set(session.userId, session)
      if (!options.beQuiet) channel.visibleCount++
      if (!options.beQuiet) this.announce(channel, 'REMOTE_JOIN', session, fx, now)
    }
    if (options.withPresence && session.connId) {
      fx.send(session.connId, {
        ...this.event(channel, 'SNAPSHOT', session.userId, now),
        snapshot: this.visibleStates(channel),
      })
    }
  }

  exit(session: Session, key: string, cause: LeaveCause, fx: Effects, now: number): void {
    const membership = session.memberships.get(key)
    if (!membership) return
    const channel = membership.channel
    session.memberships.delete(key)
    channel.members.delete(session.userId)
    channel.connsWith = {}
    if (!membership.beQuiet) channel.visibleCount--
    if (!membership.beQuiet) this.announce(channel, cause, session, fx, now)
    this.onExit?.(session, channel, fx, now)
    if (channel.members.size === 0) this.channels.delete(key)
  }

  /** The session's connection went away or came back (connId changed): its channels' cached lists are stale. */
  connectionChanged(session: Session): void {
    for (const membership of session.memberships.values()) membership.channel.connsWith = {}
  }

  /** Connection ids of the channel's connected members that set `flag`; shared, do not mutate. */
  connsWith(channel: Channel, flag: keyof MemberOptions): ConnId[] {
    let conns = channel.connsWith[flag]
    if (!conns) {
      conns = []
      for (const member of channel.members.values()) {
        if (member.connId && member.memberships.get(channel.key)?.[flag]) conns.push(member.connId)
      }
      channel.connsWith[flag] = conns
    }
    return conns
  }

  setState(session: Session, type: number, name: string, states: Record<string, string>, fx: Effects, now: number, op: string): RtmErrorInfo | null {
    const key = channelKey(type, name)
    const membership = session.memberships.get(key)
    const current = membership?.states ?? session.cachedStates.get(key) ?? {}
    const next = { ...current, ...states }
    const invalid = checkStates(next, op)
    if (invalid) return invalid
    if (!membership) {
      if (!session.cachedStates.has(key) && session.cachedStates.size >= MAX_CACHED_STATE_CHANNELS) {
        return rtmError('PRESENCE_CACHED_TOO_MANY_STATES', op, `state is cached for at most ${MAX_CACHED_STATE_CHANNELS} channels not yet joined`)
      }
      session.cachedStates.set(key, next)
      return null
    }
    membership.states = next
    if (!membership.beQuiet) this.announce(membership.channel, 'REMOTE_STATE_CHANGED', session, fx, now)
    return null
  }

  removeState(session: Session, type: number, name: string, keys: string[] | undefined, fx: Effects, now: number): void {
    const key = channelKey(type, name)
    const membership = session.memberships.get(key)
    const current = membership?.states ?? session.cachedStates.get(key)
    if (!current) return
    const next = keys ? Object.fromEntries(Object.entries(current).filter(([k]) => !keys.includes(k))) : {}
    if (!membership) {
      session.cachedStates.set(key, next)
      return
    }
    membership.states = next
    if (!membership.beQuiet) this.announce(membership.channel, 'REMOTE_STATE_CHANGED', session, fx, now)
  }

  getState(userId: string, type: number, name: string, op: string): UserState | RtmErrorInfo {
    const session = this.channels.get(channelKey(type, name))?.members.get(userId)
    const membership = session?.memberships.get(channelKey(type, name))
    if (!session || !membership || membership.beQuiet) {
      return rtmError('PRESENCE_USER_NOT_EXIST', op, `user "${userId}" is not in channel "${name}"`)
    }
    return { userId, states: { ...membership.states } }
  }

  /** whoNow: visible members sorted by userId; `page` is the last userId of the previous page. */
  getOnlineUsers(type: number, name: string, includedUserId: boolean, includedState: boolean, page: string | undefined) {
    const channel = this.channels.get(channelKey(type, name))
    const visible = channel ? this.visibleStates(channel).sort((a, b) => (a.userId < b.userId ? -1 : 1)) : []
    if (!includedUserId && !includedState) return { totalOccupancy: visible.length, occupants: [], nextPage: '' }
    const start = page ? visible.findIndex((user) => user.userId > page) : 0
    const slice = start < 0 ? [] : visible.slice(start, start + WHO_NOW_PAGE_SIZE)
    const hasMore = start >= 0 && start + WHO_NOW_PAGE_SIZE < visible.length
    return {
      totalOccupancy: visible.length,
      occupants: slice.map((user) => ({
        userId: user.userId,
        states: includedState ? user.states : {},
        statesCount: Object.keys(user.states).length,
      })),
      nextPage: hasMore ? slice[slice.length - 1].userId : '',
    }
  }

  /** whereNow: the channels a user is visibly in. */
  getUserChannels(session: Session | undefined) {
    const channels = session
      ? [...session.memberships.values()].filter((m) => !m.beQuiet).map((m) => ({ channelName: m.channel.name, channelType: m.channel.type }))
      : []
    return { totalChannel: channels.length, channels }
  }

  /** Occupied message channels and how many members each shows. */
  getChannelList(): { channelName: string; occupancy: number }[] {
    const list: { channelName: string; occupancy: number }[] = []
    for (const channel of this.channels.values()) {
      if (channel.type === ChannelType.MESSAGE) list.push({ channelName: channel.name, occupancy: channel.visibleCount })
    }
    return list
  }

  /** Sends INTERVAL events for channels whose gathering period is over. */
  flush(fx: Effects, now: number): void {
    for (const channel of this.channels.values()) {
      const pending = channel.pending
      if (!pending || now < pending.flushAt) continue
      channel.pending = null
      const detail: IntervalDetail = {
        join: usersOf(pending.join),
        leave: usersOf(pending.leave),
        timeout: usersOf(pending.timeout),
        userStateList: [...pending.states].map(([userId, states]) => ({ userId, states })),
        totalOccupancy: channel.visibleCount,
      }
      fx.send(this.listeners(channel, null), { ...this.event(channel, 'INTERVAL', '', now), interval: detail })
    }
  }

  private announce(channel: Channel, type: 'REMOTE_JOIN' | LeaveCause | 'REMOTE_STATE_CHANGED', subject: Session, fx: Effects, now: number): void {
    const states = subject.memberships.get(channel.key)?.states ?? {}
    if (channel.visibleCount > this.config.intervalThreshold || channel.pending) {
      const pending = (channel.pending ??= {
        join: new Set(), leave: new Set(), timeout: new Set(), states: new Map(), flushAt: now + this.config.intervalMs,
      })
      const id = subject.userId
      if (type === 'REMOTE_JOIN') {
        pending.join.add(id); pending.leave.delete(id); pending.timeout.delete(id)
        // A joiner's states (set before joining) travel with the join, as REMOTE_JOIN's stateChanged would.
        if (Object.keys(states).length > 0) pending.states.set(id, { ...states })
      }
      if (type === 'REMOTE_LEAVE') { pending.leave.add(id); pending.join.delete(id); pending.states.delete(id) }
      if (type === 'REMOTE_TIMEOUT') { pending.timeout.add(id); pending.join.delete(id); pending.states.delete(id) }
      if (type === 'REMOTE_STATE_CHANGED') pending.states.set(id, { ...states })
      return
    }
    fx.send(this.listeners(channel, subject.userId), {
      ...this.event(channel, type, subject.userId, now),
      stateChanged: type === 'REMOTE_STATE_CHANGED' || type === 'REMOTE_JOIN' ? { ...states } : {},
    })
  }

  private listeners(channel: Channel, except: string | null): ConnId[] {
    const all = this.connsWith(channel, 'withPresence')
    const skip = except === null ? null : channel.members.get(except)?.connId
    return skip ? all.filter((conn) => conn !== skip) : all
  }

  private visibleStates(channel: Channel): UserState[] {
    const list: UserState[] = []
    for (const member of channel.members.values()) {
      const membership = member.memberships.get(channel.key)
      if (membership && !membership.beQuiet) list.push({ userId: member.userId, states: { ...membership.states } })
    }
    return list
  }

  private event(channel: Channel, type: keyof typeof PresenceEventType, publisher: string, now: number): PresenceEvent {
    return {
      kind: 'presence',
      eventType: PresenceEventType[type],
      channelType: channel.type === 1 ? ChannelType.MESSAGE : ChannelType.STREAM,
      channelName: channel.name,
      publisher,
      stateChanged: {},
      interval: null,
      snapshot: null,
      timestamp: now,
    }
  }
}

function usersOf(set: Set<string>) {
  return { users: [...set], userCount: set.size }
}

function checkStates(states: Record<string, string>, op: string): RtmErrorInfo | null {
  const entries = Object.entries(states)
  if (entries.length > MAX_STATE_ITEMS) return rtmError('PRESENCE_STATE_COUNT_OVERFLOW', op, `at most ${MAX_STATE_ITEMS} state items per channel`)
  let total = 0
  for (const [key, value] of entries) {
    if (key.length === 0) return rtmError('PRESENCE_INVALID_STATE_KEY', op, 'state keys must not be empty')
    const keyBytes = byteLength(key)
    if (keyBytes > MAX_STATE_KEY_BYTES) return rtmError('PRESENCE_STATE_KEY_SIZE_OVERFLOW', op, `state key "${key.slice(0, 16)}…" exceeds ${MAX_STATE_KEY_BYTES} bytes`)
    total += keyBytes + byteLength(value)
  }
  if (total > MAX_STATE_TOTAL_BYTES) return rtmError('PRESENCE_STATE_VALUE_SIZE_OVERFLOW', op, `states exceed ${MAX_STATE_TOTAL_BYTES} bytes in total`)
  return null
}
