import type { LinkStateEvent, MessageEvent, RTM } from '../../sdk'
import { userError } from '../shared/errors'
import { measureMessage } from './message-size'
import { flushOnReconnect, linkIsUp, Outbox, type OutgoingMessage } from './outbox.svelte'
import { Thread, type FetchPage } from './thread.svelte'

/** A one-to-one conversation over the user channel: its messages, unread count and last failure. */
export class Conversation extends Thread {
  constructor(readonly peer: string, fetchPage: FetchPage) {
    super(fetchPage)
  }
}

/**
 * Direct messages (publish with channelType 'USER'), stored in the conversation's history:
 * one to a peer who is away waits there for them, and opening a conversation shows its recent
 * history. The coordinator does not echo a user-channel message to its sender, so ours are
 * added once the publish is acknowledged; until then they wait in the outbox. The SDK does
 * not recover user channels after a reconnect, so open conversations catch up from history.
 */
export class DirectMessages {
  #conversations = $state<Conversation[]>([])
  #open = $state<string | null>(null)
  #shown = true
  readonly outbox: Outbox
  readonly #off: () => void

  constructor(private readonly rtm: RTM) {
    this.outbox = new Outbox({
      deliver: (to, text) => this.#deliver(to, text),
      online: () => linkIsUp(rtm),
      failed: (message) => { this.#conversation(message.to).error = message.error },
    })
    const onMessage = (event: MessageEvent) => this.#receive(event)
    const onLink = (event: LinkStateEvent) => { if (event.currentState === 'CONNECTED') void this.#catchUp() }
    rtm.addEventListener('message', onMessage)
    rtm.addEventListener('linkState', onLink)
    const offReconnect = flushOnReconnect(rtm, this.outbox)
    this.#off = () => {
      rtm.removeEventListener('message', onMessage)
      rtm.removeEventListener('linkState', onLink)
      offReconnect()
    }
  }

  get conversations(): Conversation[] { return this.#conversations }
  get openPeer(): string | null { return this.#open }
  get current(): Conversation | null { return this.#conversations.find((c) => c.peer === this.#open) ?? null }
  get unreadTotal(): number { return this.#conversations.reduce((sum, c) => sum + c.unread, 0) }

  /** Whether the open conversation is on screen (Chat shown, the page visible); unread counts while it is not. */
  set shown(value: boolean) {
    this.#shown = value
    if (value && this.current) this.current.unread = 0
  }

  /** Opens (creating if needed) the conversation with `peer`; the first time, its recent history loads. */
  openWith(rawPeer: string): void {
    const peer = rawPeer.trim()
    if (!peer || peer === this.rtm.userId) return
    const conversation = this.#conversation(peer)
    conversation.unread = 0
    this.#open = peer
    conversation.open()
  }

  close(): void {
    this.#open = null
  }

  /** Queues `text` for the open conversation: it goes out now, or when the link is back. */
  send(text: string): boolean {
    const conversation = this.current
    if (!conversation || text.length === 0) return false
    const size = measureMessage(text)
    if (size.over) {
      conversation.error = userError(size.label, 'Shorten it to send it.')
      return false
    }
    conversation.error = null
    this.outbox.add(conversation.peer, text)
    return true
  }

  /** Messages of ours on their way to `peer`. */
  pending(peer: string): OutgoingMessage[] {
    return this.outbox.to(peer)
  }

  dismissError(): void {
    if (this.current) this.current.error = null
  }

  destroy(): void {
    this.#off()
  }

  async #deliver(peer: string, text: string): Promise<void> {
    const { timestamp, offset, epoch } = await this.rtm.publish(peer, text, { channelType: 'USER', storeInHistory: true })
    this.#conversation(peer).receive({ publisher: this.rtm.userId, message: text, customType: '', publishTime: timestamp, offset, epoch })
  }

  #receive(event: MessageEvent): void {
    if (event.channelType !== 'USER') return
    // On the user channel the channel name is the sender (seed 000: messages to a user arrive from them).
    const conversation = this.#conversation(event.publisher)
    if (conversation.receive(event) && !this.#onScreen(conversation)) conversation.unread++
  }

  /**
   * Back online: each conversation shown so far gets what was stored for it meanwhile. All
   * asked at once, before the outbox sends what waited (it listens after us), so that our
   * own waiting messages do not count as missed.
   */
  async #catchUp(): Promise<void> {
    await Promise.all(this.#conversations.map(async (conversation) => {
      const added = await conversation.catchUp()
      if (!this.#onScreen(conversation)) conversation.unread += added.filter((message) => message.publisher !== this.rtm.userId).length
    }))
  }

  #onScreen(conversation: Conversation): boolean {
    return this.#open === conversation.peer && this.#shown
  }

  #conversation(peer: string): Conversation {
    let conversation = this.#conversations.find((c) => c.peer === peer)
    if (!conversation) {
      conversation = new Conversation(peer, (options) => this.rtm.history.getMessages(peer, 'USER', options))
      this.#conversations.push(conversation)
    }
    return conversation
  }
}
