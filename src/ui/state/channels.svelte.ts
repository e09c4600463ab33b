import type { MessageEvent, RecoveryEvent, RTM } from '../../sdk'
import { userError, type UserError } from '../shared/errors'
import { subscribeForPanels } from '../shared/channel'
import { Actions } from '../shared/actions.svelte'
import { measureMessage } from './message-size'
import { flushOnReconnect, linkIsUp, Outbox, type OutgoingMessage } from './outbox.svelte'
import { Thread, type FetchPage } from './thread.svelte'

/** A message channel we are subscribed to: its messages, unread count and last failure. */
export class ChatChannel extends Thread {
  constructor(readonly name: string, fetchPage: FetchPage) {
    super(fetchPage)
  }
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
 * everyone's, so history shows what the coordinator accepted, with its publish time;
 * until then they wait in the outbox (shown as "Sending…"). Every message is stored in the
 * channel's history, which a channel shows from when it is first opened.
 */
export class ChannelsState {
  #channels = $state<ChatChannel[]>([])
  #active = $state<string | null>(null)
  /** Failures that belong to no channel (e.g. a join refused). */
  readonly #actions = new Actions()
  /** False while the open channel is not on screen (a direct conversation, another panel, a hidden page): its messages then count as unread. */
  #viewing = $state(true)
  readonly outbox: Outbox
  readonly #off: () => void

  constructor(private readonly rtm: RTM, private readonly hooks: ChannelsHooks = {}) {
    this.outbox = new Outbox({
      deliver: async (to, text) => { await rtm.publish(to, text, { storeInHistory: true }) },
      online: () => linkIsUp(rtm),
      failed: (message) => this.#failed(message),
    })
    const onMessage = (event: MessageEvent) => this.#receive(event)
    const onRecovery = (event: RecoveryEvent) => this.#find(event.channelName)?.recovered(event)
    rtm.addEventListener('message', onMessage)
    rtm.addEventListener('recovery', onRecovery)
    const offReconnect = flushOnReconnect(rtm, this.outbox)
    this.#off = () => {
      rtm.removeEventListener('message', onMessage)
      rtm.removeEventListener('recovery', onRecovery)
      offReconnect()
    }
  }

  get list(): ChatChannel[] { return this.#channels }
  get names(): string[] { return this.#channels.map((channel) => channel.name) }
  get activeName(): string | null { return this.#active }
  get active(): ChatChannel | null { return this.#channels.find((channel) => channel.name === this.#active) ?? null }
  get error(): UserError | null { return this.#actions.error }
  get busy(): boolean { return this.#actions.busy }
  get viewing(): boolean { return this.#viewing }
  set viewing(value: boolean) {
    this.#viewing = value
    const active = value ? this.active : null
    if (active) active.unread = 0
  }

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
      if (!this.#find(name)) this.#channels.push(new ChatChannel(name, (options) => this.rtm.history.getMessages(name, 'MESSAGE', options)))
      this.open(name)
      await this.hooks.joined?.(name)
    })
    return this.#actions.error === null
  }

  /** Unsubscribes; messages still waiting to go there are dropped. */
  async leave(name: string): Promise<boolean> {
    await this.#actions.run(async () => {
      await this.rtm.unsubscribe(name)
      this.#channels = this.#channels.filter((channel) => channel.name !== name)
      this.outbox.cancelAll(name)
      if (this.#active === name) this.#active = this.#channels[0]?.name ?? null
      this.hooks.left?.(name)
    }, false)
    return this.#actions.error === null
  }

  dismissJoinError(): void {
    this.#actions.show(null)
  }

  /** Opens the channel; the first time, its recent history loads. */
  open(name: string): void {
    const channel = this.#find(name)
    if (!channel) return
    this.#active = name
    channel.unread = 0
    channel.open()
  }

  /**
   * Queues `text` for the open channel: it goes out now, or when the link is back. A
   * message over the size limit is refused here (the coordinator would refuse it with -11010).
   */
  send(text: string): boolean {
    const channel = this.active
    if (!channel || text.length === 0) return false
    const size = measureMessage(text)
    if (size.over) {
      channel.error = userError(size.label, 'Shorten it to send it.')
      return false
    }
    channel.error = null
    this.outbox.add(channel.name, text)
    return true
  }

  /** Messages of ours on their way to `name`. */
  pending(name: string): OutgoingMessage[] {
    return this.outbox.to(name)
  }

  dismissError(name: string): void {
    const channel = this.#find(name)
    if (channel) channel.error = null
  }

  destroy(): void {
    this.#off()
  }

  #failed(message: OutgoingMessage): void {
    const channel = this.#find(message.to)
    if (channel) channel.error = message.error
  }

  #receive(event: MessageEvent): void {
    if (event.channelType !== 'MESSAGE') return
    const channel = this.#find(event.channelName)
    if (!channel) return
    if (!channel.receive(event)) return
    if (!(this.#viewing && channel.name === this.#active) && event.publisher !== this.rtm.userId) channel.unread++
  }

  #find(name: string): ChatChannel | undefined {
    return this.#channels.find((channel) => channel.name === name)
  }
}
