import type { PresenceEvent, RTM } from '../../sdk'
import { explainError, userError, type UserError } from '../shared/errors'

/** One person in a channel with their presence state (seed 000 UserState). */
export interface Occupant { userId: string; states: Record<string, string> }

/** The presence state key the app uses for a person's status line. */
export const STATUS_KEY = 'status'

/** userId → states. Maps, not plain objects: user ids such as `__proto__` or `constructor` are ordinary names here. */
type Roster = Map<string, Record<string, string>>

/**
 * Who is in each subscribed message channel and what state they set, kept from presence
 * events: SNAPSHOT replaces a channel's roster, REMOTE_* and INTERVAL patch it. Our own
 * status is set on every channel we are in (and on channels we join later).
 */
export class PresenceState {
  // Replaced, never mutated: each change builds new maps, which is what the runes track.
  #rosters = $state.raw<ReadonlyMap<string, Roster>>(new Map())
  #myStatus = $state('')
  #error = $state<UserError | null>(null)
  readonly #off: () => void

  constructor(private readonly rtm: RTM) {
    const onPresence = (event: PresenceEvent) => this.#receive(event)
    rtm.addEventListener('presence', onPresence)
    this.#off = () => rtm.removeEventListener('presence', onPresence)
  }

  get myStatus(): string { return this.#myStatus }
  get error(): UserError | null { return this.#error }

  dismissError(): void {
    this.#error = null
  }

  /** The people in a channel, ourselves first, then by name. */
  occupants(channelName: string): Occupant[] {
    const roster = this.#rosters.get(channelName) ?? new Map<string, Record<string, string>>()
    return [...roster]
      .map(([userId, states]) => ({ userId, states }))
      .sort((a, b) => Number(b.userId === this.rtm.userId) - Number(a.userId === this.rtm.userId) || a.userId.localeCompare(b.userId))
  }

  /** Everyone but us who is in at least one of our channels (the people a DM can reach). */
  readonly others = $derived.by(() => {
    const people = new Set<string>()
    for (const roster of this.#rosters.values()) for (const userId of roster.keys()) people.add(userId)
    people.delete(this.rtm.userId)
    return [...people].sort((a, b) => a.localeCompare(b))
  })

  isOnline(userId: string): boolean {
    return [...this.#rosters.values()].some((roster) => roster.has(userId))
  }

  /** Sets our status on every channel we are in; an empty text removes it. */
  async setStatus(text: string, channels: string[]): Promise<void> {
    const status = text.trim()
    this.#error = null
    try {
      for (const channelName of channels) await this.applyStatus(channelName, status)
      this.#myStatus = status
    } catch (error) {
      this.#error = explainError(error)
    }
  }

  /** Puts our current status on a channel just joined. */
  async applyStatus(channelName: string, status = this.#myStatus): Promise<void> {
    if (status) await this.rtm.presence.setState(channelName, 'MESSAGE', { [STATUS_KEY]: status })
    else if (this.#myStatus) await this.rtm.presence.removeState(channelName, 'MESSAGE', { states: [STATUS_KEY] })
    else return
    // The coordinator does not echo our own state change back to us.
    const me = this.rtm.userId
    if (!this.#rosters.has(channelName)) return
    this.#change(channelName, (roster) => roster.set(me, status ? { ...roster.get(me), [STATUS_KEY]: status } : withoutStatus(roster.get(me))))
  }

  /** We left the channel: its roster is no longer ours to show. */
  forget(channelName: string): void {
    if (!this.#rosters.has(channelName)) return
    const rosters = new Map(this.#rosters)
    rosters.delete(channelName)
    this.#rosters = rosters
  }

  destroy(): void {
    this.#off()
  }

  #receive(event: PresenceEvent): void {
    if (event.channelType !== 'MESSAGE') return
    const name = event.channelName
    switch (event.eventType) {
      case 'SNAPSHOT':
        this.#rosters = new Map(this.#rosters).set(name, new Map((event.snapshot ?? []).map((user) => [user.userId, { ...user.states }])))
        return
      case 'REMOTE_JOIN':
      case 'REMOTE_STATE_CHANGED':
        this.#change(name, (roster) => roster.set(event.publisher, { ...event.stateChanged }))
        return
      case 'REMOTE_LEAVE':
      case 'REMOTE_TIMEOUT':
        this.#change(name, (roster) => roster.delete(event.publisher))
        return
      case 'INTERVAL': {
        const interval = event.interval
        if (!interval) return
        this.#change(name, (roster) => {
          for (const userId of interval.join.users) if (!roster.has(userId)) roster.set(userId, {})
          for (const userId of [...interval.leave.users, ...interval.timeout.users]) roster.delete(userId)
          for (const user of interval.userStateList) roster.set(user.userId, { ...user.states })
        })
        return
      }
      case 'ERROR_OUT_OF_SERVICE':
        this.#error = userError(`Who is online in #${name} cannot be shown right now.`, 'Try again in a moment.')
        return
      default: {
        const unhandled: never = event.eventType
        console.warn('presence: unknown event type', unhandled)
      }
    }
  }

  /** Applies `edit` to a copy of a channel's roster (created if missing) and publishes the copy. */
  #change(channelName: string, edit: (roster: Roster) => void): void {
    const roster = new Map(this.#rosters.get(channelName))
    edit(roster)
    this.#rosters = new Map(this.#rosters).set(channelName, roster)
  }
}

function withoutStatus(states: Record<string, string> | undefined): Record<string, string> {
  const { [STATUS_KEY]: _removed, ...rest } = states ?? {}
  return rest
}
