import type { MessageEvent, RTM } from '../../sdk'
import { describeError } from '../shared/errors'
import { appendCapped, toChatMessage, type ChatMessage } from './messages'

/** A one-to-one conversation over the user channel. */
export interface Conversation {
  peer: string
  messages: ChatMessage[]
  unread: number
  error: string | null
}

/**
 * Direct messages (publish with channelType 'USER'). The coordinator does not echo a
 * user-channel message to its sender, so ours are added once the publish is acknowledged;
 * a peer who is offline gets nothing and the -11033 refusal stays in the conversation.
 */
export class DirectMessages {
  #conversations = $state<Conversation[]>([])
  #open = $state<string | null>(null)
  #nextId = 1
  readonly #off: () => void

  constructor(private readonly rtm: RTM) {
    const onMessage = (event: MessageEvent) => this.#receive(event)
    rtm.addEventListener('message', onMessage)
    this.#off = () => rtm.removeEventListener('message', onMessage)
  }

  get conversations(): Conversation[] { return this.#conversations }
  get openPeer(): string | null { return this.#open }
  get current(): Conversation | null { return this.#conversations.find((c) => c.peer === this.#open) ?? null }
  get unreadTotal(): number { return this.#conversations.reduce((sum, c) => sum + c.unread, 0) }

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

  async send(text: string): Promise<boolean> {
    const conversation = this.current
    if (!conversation || text.length === 0) return false
    conversation.error = null
    try {
      const { timestamp } = await this.rtm.publish(conversation.peer, text, { channelType: 'USER' })
      appendCapped(conversation.messages, toChatMessage(this.#nextId++, { publisher: this.rtm.userId, message: text, customType: '', publishTime: timestamp }))
      return true
    } catch (error) {
      conversation.error = describeError(error)
      return false
    }
  }

  dismissError(): void {
    if (this.current) this.current.error = null
  }

  destroy(): void {
    this.#off()
  }

  #receive(event: MessageEvent): void {
    if (event.channelType !== 'USER') return
    // On the user channel the channel name is the sender (seed 000: messages to a user arrive from them).
    const conversation = this.#conversation(event.publisher)
    appendCapped(conversation.messages, toChatMessage(this.#nextId++, event))
    if (this.#open !== event.publisher) conversation.unread++
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
