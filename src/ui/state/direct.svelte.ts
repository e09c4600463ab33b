import type { MessageEvent, RTM } from '../../sdk'
import { userError, type UserError } from '../shared/errors'
import { measureMessage } from './message-size'
import { appendCapped, toChatMessage, type ChatMessage } from './messages'
import { flushOnReconnect, linkIsUp, Outbox, type OutgoingMessage } from './outbox.svelte'

/** A one-to-one conversation over the user channel. */
export interface Conversation {
  peer: string
  messages: ChatMessage[]
  unread: number
  /** The last failure here (e.g. -11033: they are offline), shown until dismissed. */
  error: UserError | null
}

/**
 * Direct messages (publish with channelType 'USER'). The coordinator does not echo a
 * user-channel message to its sender, so ours are added once the publish is acknowledged;
 * until then they wait in the outbox. A peer who is offline gets nothing and the -11033
 * refusal stays in the conversation, with Retry on the message.
 */
export class DirectMessages {
  #conversations = $state<Conversation[]>([])
  #open = $state<string | null>(null)
  #shown = true
  #nextId = 1
  readonly outbox: Outbox
  readonly #off: () => void

  constructor(private readonly rtm: RTM) {
    this.outbox = new Outbox({
      deliver: (to, text) => this.#deliver(to, text),
      online: () => linkIsUp(rtm),
      failed: (message) => { this.#conversation(message.to).error = message.error },
    })
    const onMessage = (event: MessageEvent) => this.#receive(event)
    rtm.addEventListener('message', onMessage)
    const offReconnect = flushOnReconnect(rtm, this.outbox)
    this.#off = () => {
      rtm.removeEventListener('message', onMessage)
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

  /** Opens (creating if needed) the conversation with `peer`. */
  openWith(rawPeer: string): void {
    const peer = rawPeer.trim()
    if (!peer || peer === this.rtm.userId) return
    const conversation = this.#conversation(peer)
    conversation.unread = 0
    this.#open = peer
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
    const { timestamp } = await this.rtm.publish(peer, text, { channelType: 'USER' })
    appendCapped(this.#conversation(peer).messages, toChatMessage(this.#nextId++, { publisher: this.rtm.userId, message: text, customType: '', publishTime: timestamp }))
  }

  #receive(event: MessageEvent): void {
    if (event.channelType !== 'USER') return
    // On the user channel the channel name is the sender (seed 000: messages to a user arrive from them).
    const conversation = this.#conversation(event.publisher)
    appendCapped(conversation.messages, toChatMessage(this.#nextId++, event))
    if (this.#open !== event.publisher || !this.#shown) conversation.unread++
  }

  #conversation(peer: string): Conversation {
    let conversation = this.#conversations.find((c) => c.peer === peer)
    if (!conversation) {
      this.#conversations.push({ peer, messages: [], unread: 0, error: null })
      conversation = this.#conversations[this.#conversations.length - 1]!
    }
    return conversation
  }
}
