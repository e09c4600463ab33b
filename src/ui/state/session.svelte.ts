import { RTM, type LinkStateEvent, type RTMConfig, type ServedBy } from '../../sdk'
import type { CallsState } from '../calls/calls.svelte'
import { describeError } from '../shared/errors'
import { ChannelMemory, type KeyValueStore } from './channel-memory'
import { ChannelsState } from './channels.svelte'
import { DirectMessages } from './direct.svelte'
import { EventLog } from './event-log.svelte'
import { transportFor, type Mode } from './modes'
import { PresenceState } from './presence.svelte'

export type LinkStateName = LinkStateEvent['currentState']

export interface SignInDetails {
  userId: string
  appId: string
  mode: Mode
  /** Only needed when the relay checks tokens (TOKEN_SECRET set). */
  token?: string
}

/** The channel everyone lands in at their first sign-in (later sign-ins rejoin the channels they were in). */
export const DEFAULT_CHANNEL = 'lobby'

/**
 * One signed-in user: owns the RTM client and the state of each concern (channels,
 * presence, direct messages, event log), and follows the link state. Built by
 * `Session.start`, which resolves only once the user is logged in; `destroy` lets go of
 * everything.
 */
export class Session {
  readonly channels: ChannelsState
  readonly presence: PresenceState
  readonly direct: DirectMessages
  readonly log: EventLog
  /**
   * The Calls panel's state once the panel is mounted (at sign-in; it sets this), so every
   * panel can show a ringing call and the call in progress.
   */
  calls = $state.raw<CallsState | null>(null)
  #link = $state<LinkStateName>('IDLE')
  #linkChange = $state<Pick<LinkStateEvent, 'operation' | 'reason' | 'reasonCode' | 'isResumed' | 'timestamp'> | null>(null)
  #servedBy = $state.raw<Readonly<ServedBy> | null>(null)
  /** Whether a direct conversation (rather than a channel) is on screen. */
  #focus = $state<'channel' | 'direct'>('channel')
  #chatShown = true
  readonly #offLink: () => void

  private constructor(readonly rtm: RTM, readonly mode: Mode, memory: ChannelMemory) {
    // The log listens first so that it sees the login frames too.
    this.log = new EventLog(rtm)
    this.presence = new PresenceState(rtm)
    this.direct = new DirectMessages(rtm)
    this.channels = new ChannelsState(rtm, {
      joined: (name) => {
        memory.remember(name)
        return this.presence.applyStatus(name)
      },
      left: (name) => {
        memory.forget(name)
        this.presence.forget(name)
      },
    })
    const onLink = (event: LinkStateEvent) => {
      this.#link = event.currentState
      this.#linkChange = event
      // Each (re)login may land on another relay process (scaled mode): the SDK sets it before CONNECTED.
      this.#servedBy = rtm.servedBy
    }
    rtm.addEventListener('linkState', onLink)
    this.#offLink = () => rtm.removeEventListener('linkState', onLink)
  }

  /**
   * Logs in and joins the channels this user was in last time (the default channel the
   * first time); on failure releases the client and rejects with a readable reason.
   */
  static async start(details: SignInDetails, config: RTMConfig = {}, storage: KeyValueStore | null = localStorageOrNull()): Promise<Session> {
    const rtm = new RTM(details.appId, details.userId, { transport: transportFor(details.mode), ...config })
    const memory = new ChannelMemory(storage, details.appId, details.userId)
    const session = new Session(rtm, details.mode, memory)
    try {
      await rtm.login({ token: details.token || undefined })
    } catch (error) {
      session.destroy()
      throw new Error(describeError(error), { cause: error })
    }
    const channels = memory.recall([DEFAULT_CHANNEL])
    for (const name of channels) await session.channels.join(name)
    if (channels[0]) session.channels.open(channels[0])
    return session
  }

  get userId(): string { return this.rtm.userId }
  get appId(): string { return this.rtm.appId }
  /** Read with the link state, so the header follows a failover (the coordinator changes across a reconnect). */
  get coordinator(): string { return this.#link && this.rtm.coordinator }
  get link(): LinkStateName { return this.#link }
  /** Scaled mode: the relay process holding our socket and the one owning the app; null otherwise and while not connected. */
  get servedBy(): Readonly<ServedBy> | null { return this.#servedBy }
  /** Why the link is in its current state, e.g. "SERVER_REJECT: same user logged in elsewhere". */
  get linkDetail(): string {
    const change = this.#linkChange
    if (!change) return ''
    const parts = [change.operation, change.reason || change.reasonCode].filter(Boolean)
    return parts.join(': ') + (change.isResumed ? ' (resumed)' : '')
  }
  get focus(): 'channel' | 'direct' { return this.#focus }
  /** Messages waiting in channels and conversations not on screen. */
  get unreadTotal(): number {
    return this.channels.list.reduce((sum, channel) => sum + channel.unread, 0) + this.direct.unreadTotal
  }

  /**
   * Whether Chat is on screen (its tab selected and the page visible): a message that arrives
   * in the open conversation while it is not counts as new (the tab's badge, the title).
   */
  setChatShown(shown: boolean): void {
    this.#chatShown = shown
    this.channels.viewing = shown && this.#focus === 'channel'
    this.direct.shown = shown
  }

  openChannel(name: string): void {
    this.#focus = 'channel'
    this.direct.close()
    this.channels.viewing = this.#chatShown
    this.channels.open(name)
  }

  openDirect(peer: string): void {
    this.#focus = 'direct'
    this.channels.viewing = false
    this.direct.openWith(peer)
  }

  async logout(): Promise<void> {
    // After a kick (FAILED) there is no session on the coordinator left to end.
    if (this.#link === 'FAILED' || this.#link === 'IDLE') return this.destroy()
    try {
      await this.rtm.logout()
    } finally {
      this.destroy()
    }
  }

  destroy(): void {
    this.#offLink()
    this.channels.destroy()
    this.presence.destroy()
    this.direct.destroy()
    this.log.destroy()
    this.rtm.release()
  }
}

/** The page's localStorage, or null where there is none or it may not be used (Node, a sandboxed frame). */
function localStorageOrNull(): KeyValueStore | null {
  try {
    return globalThis.localStorage ?? null
  } catch {
    return null
  }
}
