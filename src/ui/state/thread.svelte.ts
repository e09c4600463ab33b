import type { HistoryMessage, HistoryPage, MessageEvent, RecoveryEvent } from '../../sdk'
import { explainError, type UserError } from '../shared/errors'
import { fromHistory, HISTORY_LIMIT, mergeMessages, toChatMessage, type ChatMessage } from './messages'

/** Messages per history page: the recent ones when a conversation opens, then each "Load earlier messages". */
export const HISTORY_PAGE = 50

/**
 * Where a conversation's stored history stands. `unloaded`: not asked for yet; `loading`: a
 * page is on its way; `more`: older messages are stored; `start`: the beginning is shown;
 * `failed`: the last page did not come (`historyError` says why; asking again retries it).
 */
export type HistoryState = 'unloaded' | 'loading' | 'more' | 'start' | 'failed'

/**
 * "3 messages while you were away": stands before the first of them (`beforeId`). `lost`:
 * some messages from while we were away are no longer stored; with none back (`count` 0) it
 * stands after the message that was last then (`afterId`; null: an empty conversation).
 */
export interface AwayMarker {
  beforeId: number | null
  afterId: number | null
  count: number
  lost: boolean
}

/** One page of a conversation's history, newest first (`rtm.history.getMessages`). */
export type FetchPage = (options: { messageCount: number; start?: number }) => Promise<HistoryPage>

/** A message as it arrives: live, recovered after a reconnect, or ours once accepted. */
export type Arrival = Pick<MessageEvent, 'publisher' | 'message' | 'customType' | 'publishTime' | 'offset' | 'epoch' | 'recovered'>

/**
 * The messages of one conversation (a channel, or a direct conversation): live ones merged
 * with pages of its stored history, each once (a stored message is known by its offset), in
 * time order; and what came back after a reconnect, marked.
 */
export class Thread {
  /** Messages from others that arrived while the conversation was not on screen. */
  unread = $state(0)
  /** The last failure here (a publish refused or unanswered), shown until dismissed. */
  error = $state<UserError | null>(null)
  #messages = $state.raw<ChatMessage[]>([])
  #history = $state<HistoryState>('unloaded')
  #historyError = $state.raw<UserError | null>(null)
  #away = $state.raw<AwayMarker | null>(null)
  /** `start` of the next older page (a timestamp); 0 when there is none. */
  #cursor = 0
  /** Grows past HISTORY_LIMIT with each page asked for, so new arrivals do not drop what was just loaded. */
  #limit = HISTORY_LIMIT
  /** The history's epoch, from live messages: another one means the stored history was lost and offsets start again. */
  #epoch = ''
  /** A run of recovered messages is arriving: they go under one marker. */
  #recovering = false
  #nextId = 1

  constructor(private readonly fetchPage: FetchPage) {}

  get messages(): ChatMessage[] { return this.#messages }
  get history(): HistoryState { return this.#history }
  get historyError(): UserError | null { return this.#historyError }
  get away(): AwayMarker | null { return this.#away }

  /** Shows the recent history the first time the conversation is opened. */
  open(): void {
    if (this.#history === 'unloaded') void this.#load(0)
  }

  /** The next older page (or the one that failed, again); resolves once it is shown. */
  async loadEarlier(): Promise<void> {
    if (this.#history === 'more' || this.#history === 'failed' || this.#history === 'unloaded') await this.#load(this.#cursor)
  }

  /** A message that arrived, as shown; null when it is here already (a stored one loaded with a page). */
  receive(arrival: Arrival): ChatMessage | null {
    if (arrival.epoch) this.#followEpoch(arrival.epoch)
    const { list, added } = mergeMessages(this.#messages, [toChatMessage(this.#nextId++, arrival)])
    const message = added[0]
    if (!message) return null
    this.#messages = list
    this.#trim()
    if (arrival.recovered) this.#noteRecovered([message])
    else this.#recovering = false
    return message
  }

  /** The SDK finished recovering this channel after a reconnect: closes the marker, and says so when some messages are gone. */
  recovered(event: Pick<RecoveryEvent, 'recovered'>): void {
    const run = this.#recovering
    this.#recovering = false
    if (event.recovered) return
    this.#away = run && this.#away
      ? { ...this.#away, lost: true }
      : { beforeId: null, afterId: this.#messages.at(-1)?.id ?? null, count: 0, lost: true }
  }

  /**
   * After a reconnect, for a conversation the SDK does not recover (a direct one): loads what
   * was stored after the newest message shown, under a "while you were away" marker.
   * Returns the messages added.
   */
  async catchUp(): Promise<ChatMessage[]> {
    if (this.#history === 'unloaded') return []
    const newest = Math.max(0, ...this.#messages.map((message) => message.offset ?? 0))
    const found: HistoryMessage[] = []
    try {
      for (let start = 0; found.length < HISTORY_LIMIT;) {
        const page = await this.#page(start)
        const fresh = page.messageList.filter((item) => item.offset > newest)
        found.push(...fresh)
        if (fresh.length < page.messageList.length || !page.newStart) break
        start = page.newStart
      }
    } catch (error) {
      this.error = explainError(error)
      return []
    }
    const { list, added } = mergeMessages(this.#messages, found.reverse().map((item) => fromHistory(this.#nextId++, item)))
    if (added.length === 0) return []
    this.#messages = list
    // One marker of their own: neither joined to an earlier run nor to what comes next.
    this.#recovering = false
    this.#noteRecovered(added)
    this.#recovering = false
    this.#limit = Math.max(this.#limit, list.length)
    return added
  }

  async #load(start: number): Promise<void> {
    if (this.#history === 'loading') return
    this.#history = 'loading'
    this.#historyError = null
    try {
      const page = await this.#page(start)
      const older = page.messageList.toReversed().map((item) => fromHistory(this.#nextId++, item))
      this.#messages = mergeMessages(this.#messages, older).list
      this.#limit = Math.max(this.#limit, this.#messages.length)
      this.#cursor = page.newStart
      this.#history = page.newStart ? 'more' : 'start'
    } catch (error) {
      this.#history = 'failed'
      this.#historyError = explainError(error)
    }
  }

  /** One page of HISTORY_PAGE messages ending at `start` (0: the newest). */
  #page(start: number): Promise<HistoryPage> {
    return this.fetchPage(start ? { messageCount: HISTORY_PAGE, start } : { messageCount: HISTORY_PAGE })
  }

  #noteRecovered(messages: ChatMessage[]): void {
    const away = this.#recovering ? this.#away : null
    this.#away = away
      ? { ...away, count: away.count + messages.length }
      : { beforeId: messages[0]!.id, afterId: null, count: messages.length, lost: false }
    this.#recovering = true
  }

  /** Past the limit the oldest go; those stored can be loaded again with "Load earlier messages". */
  #trim(): void {
    const over = this.#messages.length - this.#limit
    if (over <= 0) return
    const dropped = this.#messages.slice(0, over)
    this.#messages = this.#messages.slice(over)
    const stored = dropped.findLast((message) => message.offset !== undefined)
    if (!stored || this.#history === 'unloaded') return
    this.#cursor = stored.time
    if (this.#history === 'start') this.#history = 'more'
  }

  /** Another epoch: the offsets shown belong to a history that is gone, and must not hide new messages that reuse them. */
  #followEpoch(epoch: string): void {
    if (this.#epoch && this.#epoch !== epoch) {
      this.#messages = this.#messages.map(({ offset: _gone, ...message }) => message)
      this.#cursor = 0
      if (this.#history === 'more') this.#history = 'start'
    }
    this.#epoch = epoch
  }
}
