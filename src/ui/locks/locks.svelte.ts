import { explainError, type UserError } from '../shared/errors'
import { isRtmError, type LockDetail, type LockEvent, type PresenceEvent, type RTM } from '../../sdk'
import { subscribeForPanels } from '../shared/channel'
import { Actions } from '../shared/actions.svelte'

export interface LockRow {
  lockName: string
  /** '' while nobody holds it. */
  owner: string
  ttl: number
  /**
   * Latest time the lock frees itself, once we saw its owner leave (ms since epoch). The
   * coordinator's clock starts when the owner's connection drops, which can be before the
   * presence event reaches us, so this is an upper bound.
   */
  releasesAt: number | null
}

/** How often the TTL countdown redraws. */
export const COUNTDOWN_MS = 250

/**
 * The Locks panel's state for one message channel: its locks with owner and TTL, a
 * countdown once an owner goes offline, and the locks we are waiting in line for.
 */
export class LocksState {
  #channelName = $state<string | null>(null)
  // lockName → row; a Map so any name is an ordinary key (`__proto__` in a plain object is not). Replaced, never mutated.
  #locks = $state.raw<ReadonlyMap<string, LockRow>>(new Map())
  #waiting = $state<string[]>([])
  #now = $state(Date.now())
  readonly #actions = new Actions()
  readonly #timer: ReturnType<typeof setInterval>
  readonly #off: () => void

  constructor(private readonly rtm: RTM) {
    const onLock = (event: LockEvent) => this.#receiveLock(event)
    const onPresence = (event: PresenceEvent) => this.#receivePresence(event)
    rtm.addEventListener('lock', onLock)
    rtm.addEventListener('presence', onPresence)
    this.#off = () => {
      rtm.removeEventListener('lock', onLock)
      rtm.removeEventListener('presence', onPresence)
    }
    this.#timer = setInterval(() => {
      if ([...this.#locks.values()].some((lock) => lock.releasesAt !== null)) this.#now = Date.now()
    }, COUNTDOWN_MS)
  }

  get channelName(): string | null { return this.#channelName }
  get locks(): LockRow[] { return [...this.#locks.values()].sort((a, b) => a.lockName.localeCompare(b.lockName)) }
  /** Locks we asked for with retry and are still waiting in line for. */
  get waiting(): string[] { return this.#waiting }
  get error(): UserError | null { return this.#actions.error }
  get busy(): boolean { return this.#actions.busy }
  get me(): string { return this.rtm.userId }

  /** At most this many seconds until an offline owner's lock frees itself; null while the owner is online. */
  secondsLeft(lock: LockRow): number | null {
    return lock.releasesAt === null ? null : Math.max(0, Math.ceil((lock.releasesAt - this.#now) / 1000))
  }

  open(channelName: string): Promise<void> {
    return this.#actions.run(async () => {
      this.#channelName = channelName.trim()
      this.#locks = new Map()
      await subscribeForPanels(this.rtm, this.#channelName)
      const { lockDetails } = await this.rtm.lock.getLock(this.#channelName, 'MESSAGE')
      this.#locks = rowsOf(lockDetails)
    })
  }

  setLock(lockName: string, ttl: number): Promise<void> {
    return this.#call((channel) => this.rtm.lock.setLock(channel, 'MESSAGE', lockName.trim(), { ttl }))
  }

  /** With `retry` we wait in line; the panel shows the wait until it is granted or fails. */
  acquire(lockName: string, retry: boolean): Promise<void> {
    // Waiting in line must not block the rest of the panel.
    return this.#call(async (channel) => {
      if (retry) this.#waiting = [...this.#waiting, lockName]
      try {
        await this.rtm.lock.acquireLock(channel, 'MESSAGE', lockName, { retry })
      } finally {
        if (retry) this.#waiting = this.#waiting.filter((name) => name !== lockName)
      }
    }, !retry)
  }

  release(lockName: string): Promise<void> {
    return this.#call((channel) => this.rtm.lock.releaseLock(channel, 'MESSAGE', lockName))
  }

  revoke(lockName: string, owner: string): Promise<void> {
    return this.#call(async (channel) => {
      try {
        await this.rtm.lock.revokeLock(channel, 'MESSAGE', lockName, owner)
      } catch (error) {
        // The code's usual words ("You do not hold this lock") are about releasing; here someone else let go first.
        if (!isRtmError(error) || error.name !== 'LOCK_NOT_ACQUIRED') throw error
        this.#actions.show({ message: `${owner} no longer holds “${lockName}”.`, detail: explainError(error).detail })
      }
    })
  }

  remove(lockName: string): Promise<void> {
    return this.#call((channel) => this.rtm.lock.removeLock(channel, 'MESSAGE', lockName))
  }

  destroy(): void {
    clearInterval(this.#timer)
    this.#off()
  }

  #receiveLock(event: LockEvent): void {
    if (event.channelType !== 'MESSAGE' || event.channelName !== this.#channelName) return
    if (event.eventType === 'SNAPSHOT') {
      this.#locks = rowsOf(event.snapshot)
      return
    }
    const current = this.#locks.get(event.lockName) ?? { lockName: event.lockName, owner: '', ttl: event.ttl, releasesAt: null }
    const next = new Map(this.#locks)
    switch (event.eventType) {
      case 'REMOVED': next.delete(event.lockName); break
      case 'SET': next.set(event.lockName, { ...current, ttl: event.ttl || current.ttl }); break
      case 'ACQUIRED': next.set(event.lockName, { ...current, owner: event.owner, releasesAt: null }); break
      case 'RELEASED':
      case 'EXPIRED': next.set(event.lockName, { ...current, owner: '', releasesAt: null }); break
    }
    this.#locks = next
  }

  /** An owner who goes offline keeps the lock for its TTL (seed 000, LockDetail.ttl); one who returns keeps it. */
  #receivePresence(event: PresenceEvent): void {
    if (event.channelType !== 'MESSAGE' || event.channelName !== this.#channelName) return
    const gone = event.eventType === 'REMOTE_LEAVE' || event.eventType === 'REMOTE_TIMEOUT'
    if (!gone && event.eventType !== 'REMOTE_JOIN') return
    const next = new Map(this.#locks)
    let changed = false
    for (const lock of this.#locks.values()) {
      if (lock.owner !== event.publisher) continue
      next.set(lock.lockName, { ...lock, releasesAt: gone ? Date.now() + lock.ttl * 1000 : null })
      changed = true
    }
    if (changed) {
      this.#now = Date.now()
      this.#locks = next
    }
  }

  #call(action: (channelName: string) => Promise<unknown>, blocking = true): Promise<void> {
    return this.#actions.run(async () => {
      if (!this.#channelName) throw new Error('open a channel first')
      await action(this.#channelName)
    }, blocking)
  }
}

function rowsOf(details: LockDetail[]): Map<string, LockRow> {
  return new Map(details.map((d) => [d.lockName, { lockName: d.lockName, owner: d.owner, ttl: d.ttl, releasesAt: null }]))
}
