import type { MessageEvent, RTM } from '../../sdk'
import { describeError, type UserError } from '../shared/errors'
import { subscribeForPanels } from '../shared/channel'
import { Actions } from '../shared/actions.svelte'
import { appendCapped, toChatMessage, type ChatMessage } from './messages'

/** A message channel we are subscribed to. */
export interface ChatChannel {
  name: string
  messages: ChatMessage[]
  /** Messages from others that arrived while another channel was open. */
  unread: number
  /** The last failure in this channel (a publish refused with its seed code), shown inline. */
  error: string | null
}

export interface ChannelsHooks {
  /** After a successful subscribe (e.g. to put our presence status on the new channel). */
  joined?(channelName: string): Promise<void> | void
  /** After unsubscribing. */
  left?(channelName: string): void
}

/**
 * The chat channels: which ones we are in (subscribe/unsubscribe), which one is open,
 * their messages and unread counts. Our own messages come back from the coordinator like
 * everyone's, so history shows what the coordinator accepted, with its publish time.
 */
export class ChannelsState {
  #channels = $state<ChatChannel[]>([])
  #active = $state<string | null>(null)
  /** Failures that belong to no channel (e.g. a join refused). */
  readonly #actions = new Actions()
  /** False while a direct conversation covers the channel view (messages then count as unread). */
  #viewing = $state(true)
  #nextId = 1
  readonly #off: () => void

  constructor(private readonly rtm: RTM, private readonly hooks: ChannelsHooks = {}) {
    const onMessage = (event: MessageEvent) => this.#receive(event)
    rtm.addEventListener('message', onMessage)
    this.#off = () => rtm.removeEventListener('message', onMessage)
  }

  get list(): ChatChannel[] { return this.#channels }
  get names(): string[] { return this.#channels.map((channel) => channel.name) }
  get activeName(): string | null { return this.#active }
  get active(): ChatChannel | null { return this.#channels.find((channel) => channel.name === this.#active) ?? null }
  get error(): UserError | null { return this.#actions.error }
  get busy(): boolean { return this.#actions.busy }
  get viewing(): boolean { return this.#viewing }
  set viewing(value: boolean) { this.#viewing = value }

  /** Subscribes (with presence) and opens the channel; joining one we are in just opens it. */
  async join(rawName: string): Promise<boolean> {
    const name = rawName.trim()
    if (!name) {
      this.#actions.show('Enter a channel name.')
      return false
    }
    if (this.#find(name)) {
      this.#actions.show(null)
      this.open(name)
      return true
    }
    await this.#actions.run(async () => {
      await subscribeForPanels(this.rtm, name)
      if (!this.#find(name)) this.#channels.push({ name, messages: [], unread: 0, error: null })
      this.open(name)
      await this.hooks.joined?.(name)
    })
    return this.#actions.error === null
  }

  async leave(name: string): Promise<void> {
    await this.#actions.run(async () => {
      await this.rtm.unsubscribe(name)
      this.#channels = this.#channels.filter((channel) => channel.name !== name)
      if (this.#active === name) this.#active = this.#channels[0]?.name ?? null
      this.hooks.left?.(name)
    }, false)
  }

  open(name: string): void {
    const channel = this.#find(name)
    if (!channel) return
    this.#active = name
    channel.unread = 0
  }

  /** Publishes to the open channel; a refusal (e.g. -11010 too large) stays on screen in that channel. */
  async send(text: string): Promise<boolean> {
    const channel = this.active
    if (!channel || text.length === 0) return false
    channel.error = null
    try {
      await this.rtm.publish(channel.name, text)
      return true
    } catch (error) {
      channel.error = describeError(error)
      return false
    }
  }

  dismissError(name: string): void {
    const channel = this.#find(name)
    if (channel) channel.error = null
  }

  destroy(): void {
    this.#off()
  }

  #receive(event: MessageEvent): void {
    if (event.channelType !== 'MESSAGE') return
    const channel = this.#find(event.channelName)
    if (!channel) return
    appendCapped(channel.messages, toChatMessage(this.#nextId++, event))
    if (!(this.#viewing && channel.name === this.#active) && event.publisher !== this.rtm.userId) channel.unread++
  }

  #find(name: string): ChatChannel | undefined {
    return this.#channels.find((channel) => channel.name === name)
  }
}
