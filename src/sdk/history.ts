import { ChannelType, type ChannelTypeName, type MessageTypeName } from '../protocol/enums'
import type { MessageEvent as WireMessage } from '../protocol/events'

/** One message of `rtm.history.getMessages` (Agora RTM 2.x shape, with the message type and offset). */
export interface HistoryMessage {
  message: string | Uint8Array
  messageType: MessageTypeName
  publisher: string
  customType: string
  timestamp: number
  offset: number
}

export interface HistoryPage {
  /** Newest first. */
  messageList: HistoryMessage[]
  count: number
  /** Pass as `start` for the next older page; 0 when there is none. */
  newStart: number
  timestamp: number
}

/** After a reconnect, one per subscribed channel: what was recovered of what it missed. */
export interface RecoveryEvent {
  channelName: string
  channelType: 'MESSAGE'
  /** false: some missed messages are gone (older than the retention, or the history was lost); never silent. */
  recovered: boolean
  /** Messages delivered (marked `recovered`) before any new one. */
  count: number
  reason: string
  timestamp: number
}

interface Core {
  request(op: string, args: Record<string, unknown>): Promise<Record<string, unknown>>
  open(message: string | Uint8Array): Promise<string | Uint8Array>
}

/**
 * `rtm.history` (SDK.md; issue 16): pages of what was published with `storeInHistory`.
 *
 * @example
 * const page = await rtm.history.getMessages('lobby', 'MESSAGE', { messageCount: 50 })
 * const older = page.newStart ? await rtm.history.getMessages('lobby', 'MESSAGE', { start: page.newStart }) : null
 */
export class HistoryApi {
  constructor(private readonly core: Core) {}

  /**
   * Messages with `end ≤ timestamp ≤ start` (ms; 0 or absent: unbounded), newest first, at
   * most `messageCount` (1–100, default 100). A USER channel's history is the conversation
   * between the caller and that user.
   */
  async getMessages(channelName: string, channelType: ChannelTypeName, options: { messageCount?: number; start?: number; end?: number } = {}): Promise<HistoryPage> {
    const result = await this.core.request('getMessages', { channelName, channelType: ChannelType[channelType], ...options })
    const wire = result.messageList as (Omit<HistoryMessage, 'messageType'> & { messageType: number })[]
    // Opened like live messages: a payload sealed with our key comes back as it was published.
    const messageList = await Promise.all(wire.map(async (item): Promise<HistoryMessage> => {
      const message = await this.core.open(item.message)
      return { ...item, message, messageType: typeof message === 'string' ? 'STRING' : 'BINARY' }
    }))
    return { messageList, count: Number(result.count), newStart: Number(result.newStart), timestamp: Date.now() }
  }
}

/** Where a subscriber is in a channel's history. */
interface Position { epoch: string; offset: number }

/**
 * Gap-free delivery for subscribed message channels: remembers the last offset seen per
 * channel; after a reconnect asks for what came after it, delivers that in order (marked
 * `recovered`) before anything new, and drops what it has already delivered.
 */
export class MessageRecovery {
  private readonly positions = new Map<string, Position>()
  /** Live messages that arrived while recovering: delivered after the recovered ones. */
  private held: WireMessage[] | null = null
  /** Counts link drops: a recovery belongs to the reconnect that started it. */
  private run = 0

  constructor(
    private readonly request: (op: string, args: Record<string, unknown>) => Promise<Record<string, unknown>>,
    private readonly deliver: (message: WireMessage, recovered: boolean) => void,
    private readonly report: (event: RecoveryEvent) => void,
  ) {}

  /** A subscribe's reply: a channel we had no place in starts at its current head. */
  subscribed(channelName: string, head: unknown): void {
    if (this.positions.has(channelName)) return
    const { epoch, offset } = (head ?? {}) as Partial<Position>
    this.positions.set(channelName, { epoch: typeof epoch === 'string' ? epoch : '', offset: typeof offset === 'number' ? offset : 0 })
  }

  unsubscribed(channelName: string): void {
    this.positions.delete(channelName)
  }

  forgetAll(): void {
    this.positions.clear()
    this.held = null
    this.run++
  }

  /** A live message event: delivered, held while recovering, or dropped as already delivered. */
  receive(message: WireMessage): void {
    if (this.held && message.channelType === ChannelType.MESSAGE) {
      this.held.push(message)
      return
    }
    if (this.advance(message)) this.deliver(message, false)
  }

  /**
   * The link dropped: live messages wait from now until the recovery is done. Holding only
   * from `recover` was too late: a live message that came in before it (while the restore
   * was still subscribing again after a relay restart, or in the same read as the login reply)
   * was delivered first and moved the channel's place past the gap, so the gap was never asked
   * for and the recovery reported `recovered: true, count: 0`. A recovery still running from
   * an earlier reconnect is stale from here: it no longer reports nor releases.
   */
  dropped(): void {
    this.run++
    this.held ??= []
  }

  /** Stops holding: what was held is delivered in arrival order (duplicates of recovered ones dropped). */
  release(): void {
    const held = this.held ?? []
    this.held = null
    for (const message of held) this.receive(message)
  }

  /** After a reconnect (restored subscriptions first): what each channel missed, in order. */
  async recover(channels: string[]): Promise<void> {
    const run = this.run
    this.held ??= []
    try {
      for (const channelName of channels) {
        if (run !== this.run) return
        if (this.positions.has(channelName)) await this.recoverChannel(channelName, run)
      }
    } finally {
      if (run === this.run) this.release()
    }
  }

  private async recoverChannel(channelName: string, run: number): Promise<void> {
    let count = 0
    let recovered = true
    let reason = ''
    try {
      for (;;) {
        const position = this.positions.get(channelName)
        if (!position) return
        const result = await this.request('recoverMessages', { channelName, epoch: position.epoch, offset: position.offset })
        const messages = result.messages as WireMessage[]
        if (result.recovered !== true) {
          recovered = false
          reason = result.epoch !== position.epoch && position.epoch !== '' ? 'the channel history was lost' : 'some messages are older than the history keeps'
        }
        for (const message of messages) {
          if (!this.advance(message)) continue
          this.deliver(message, true)
          count++
        }
        // Past the last message of this reply (or at the head when there was none), so the next ask moves on.
        const last = messages.at(-1)?.offset ?? Number(result.offset)
        const current = this.positions.get(channelName)
        const offset = current && current.epoch === result.epoch ? Math.max(current.offset, last) : last
        this.positions.set(channelName, { epoch: String(result.epoch), offset })
        if (result.more !== true) break
      }
    } catch (error) {
      recovered = false
      reason = (error as { reason?: string }).reason ?? 'the coordinator did not answer'
    }
    // A stale run's failure is the drop that ended it; the next reconnect recovers from where it got to.
    if (run === this.run) this.report({ channelName, channelType: 'MESSAGE', recovered, count, reason, timestamp: Date.now() })
  }

  /** Moves the channel's place past a stored message; false when it was delivered already. */
  private advance(message: WireMessage): boolean {
    if (message.channelType !== ChannelType.MESSAGE || message.offset === undefined || message.epoch === undefined) return true
    const position = this.positions.get(message.channelName)
    if (!position) return true
    if (position.epoch === message.epoch && message.offset <= position.offset) return false
    this.positions.set(message.channelName, { epoch: message.epoch, offset: message.offset })
    return true
  }
}
