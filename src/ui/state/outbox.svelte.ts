import type { LinkStateEvent, RTM } from '../../sdk'
import { explainError, type UserError } from '../shared/errors'

/**
 * `waiting`: typed while offline (or behind another message), can be cancelled.
 * `sending`: handed to the SDK, which resends it across a reconnect; no longer cancellable.
 * `failed`: refused or unanswered; can be retried or discarded.
 */
export type OutgoingState = 'waiting' | 'sending' | 'failed'

/** A message of ours not yet accepted by the coordinator. */
export interface OutgoingMessage {
  readonly id: number
  /** The channel name, or the peer for a direct message. */
  readonly to: string
  readonly text: string
  state: OutgoingState
  error: UserError | null
}

export interface OutboxDeps {
  /** Publishes one message; resolves once the coordinator accepted it. */
  deliver(to: string, text: string): Promise<void>
  /** Whether messages can go out now (our link is up). */
  online(): boolean
  /** A message failed (to show the reason where the conversation is). */
  failed?(message: OutgoingMessage): void
}

/**
 * Messages on their way out, in the order they were typed. While the link is down they
 * wait here (shown as "Sending…", cancellable) and go out one at a time, in order, once
 * `flush` is called on reconnect. One handed to the SDK is not cancelled: the SDK resends
 * it with its original request id after a drop, which the coordinator answers once, so it
 * arrives once. The SDK gives up on a request after 10 s without a link; that failure
 * (like any refusal) stays here with its reason until retried or discarded.
 */
export class Outbox {
  #items = $state<OutgoingMessage[]>([])
  #nextId = 1
  #flushing = false

  constructor(private readonly deps: OutboxDeps) {}

  get items(): OutgoingMessage[] { return this.#items }

  /** The messages on their way to `to`. */
  to(to: string): OutgoingMessage[] {
    return this.#items.filter((message) => message.to === to)
  }

  /** Queues `text` for `to` and sends it now if the link is up. */
  add(to: string, text: string): OutgoingMessage {
    this.#items.push({ id: this.#nextId++, to, text, state: 'waiting', error: null })
    const message = this.#items[this.#items.length - 1]!
    void this.flush()
    return message
  }

  /** Drops a message that has not been handed to the SDK yet; false when it is already on its way. */
  cancel(id: number): boolean {
    const message = this.#find(id)
    if (!message || message.state === 'sending') return false
    this.#remove(id)
    return true
  }

  /** Drops every message to `to` that has not gone out (we left the channel). */
  cancelAll(to: string): void {
    this.#items = this.#items.filter((message) => message.to !== to || message.state === 'sending')
  }

  /** Queues a failed message again, behind those already waiting. */
  retry(id: number): void {
    const message = this.#find(id)
    if (!message || message.state !== 'failed') return
    this.#remove(id)
    this.#items.push({ ...message, state: 'waiting', error: null })
    void this.flush()
  }

  /** Sends the waiting messages, one at a time and in order, while the link is up; call it when the link comes back. */
  async flush(): Promise<void> {
    if (this.#flushing) return
    this.#flushing = true
    try {
      for (let next = this.#nextWaiting(); next && this.deps.online(); next = this.#nextWaiting()) await this.#send(next)
    } finally {
      this.#flushing = false
    }
  }

  async #send(message: OutgoingMessage): Promise<void> {
    message.state = 'sending'
    try {
      await this.deps.deliver(message.to, message.text)
      this.#remove(message.id)
    } catch (error) {
      message.state = 'failed'
      message.error = explainError(error)
      this.deps.failed?.(message)
    }
  }

  #nextWaiting(): OutgoingMessage | undefined {
    return this.#items.find((message) => message.state === 'waiting')
  }

  #find(id: number): OutgoingMessage | undefined {
    return this.#items.find((message) => message.id === id)
  }

  #remove(id: number): void {
    this.#items = this.#items.filter((message) => message.id !== id)
  }
}

/**
 * Whether messages can go out: our link is up. (Not `navigator.onLine`: it says false on a
 * machine with no network interface up, where a relay on localhost still works.)
 */
export function linkIsUp(rtm: Pick<RTM, 'linkState'>): boolean {
  return rtm.linkState === 'CONNECTED'
}

/** Flushes `outbox` whenever the link comes back; returns a function that stops. */
export function flushOnReconnect(rtm: Pick<RTM, 'addEventListener' | 'removeEventListener'>, outbox: Outbox): () => void {
  const onLink = (event: LinkStateEvent) => { if (event.currentState === 'CONNECTED') void outbox.flush() }
  rtm.addEventListener('linkState', onLink)
  return () => rtm.removeEventListener('linkState', onLink)
}
