import type { ServerEvent } from '../protocol/events'
import type { RoomAck, RoomServerMessage, RoomSession } from '../protocol/room-codes'
import type { RTM } from './client'

/** A room message with whom it is for: every session of ours in `rid` (`sessionId` null), or one session. */
export interface AddressedRoomMessage {
  rid: string
  sessionId: string | null
  msg: RoomServerMessage
}

/**
 * Whom a `room` event is for, read from the event itself (the coordinator is trusted no more
 * than any peer: a malformed one is null and dropped). PUBLISH_LIST_CHANGED goes to every
 * session of the room (it comes once per connection); KICK to the kicked session (`b.id`);
 * a forwarded signal to its `to` session.
 */
export function addressOf(msg: unknown): AddressedRoomMessage | null {
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return null
  const frame = msg as Record<string, unknown>
  if ('c' in frame) {
    const b = frame.b as Record<string, unknown> | null
    if (typeof frame.c !== 'number' || typeof frame.s !== 'string' || typeof b !== 'object' || b === null || typeof b.rid !== 'string') return null
    const ack = frame as unknown as RoomAck
    if (frame.s === 'PUBLISH_LIST_CHANGED') return Array.isArray(b.pps) ? { rid: b.rid, sessionId: null, msg: ack } : null
    if (frame.s === 'KICK') return typeof b.id === 'string' ? { rid: b.rid, sessionId: b.id, msg: ack } : null
    return null
  }
  const to = frame.to as { sessionId?: unknown } | undefined
  const ss = frame.ss as Partial<RoomSession> | undefined
  if (typeof frame.s !== 'string' || typeof frame.rid !== 'string' || typeof to?.sessionId !== 'string') return null
  if (typeof ss?.sessionId !== 'string' || typeof ss.userId !== 'string') return null
  return { rid: frame.rid, sessionId: to.sessionId, msg: frame as RoomServerMessage }
}

/** One RoomClient as the dispatcher knows it. */
export interface RoomReceiver {
  /** A room message addressed to this client's room (and, when `sessionId` is set, to that session). */
  receive(addressed: AddressedRoomMessage): void
  /** The session this client holds, if any. */
  session(): string | null
}

type DispatchingHandler = ((event: ServerEvent) => void) & { dispatcher?: RoomDispatcher }

/**
 * The fan-out of one RTM's `room` events to its RoomClients (a camera session and a screen
 * share may share one RTM). It lives in `rtm.wireHandlers` while a client uses it, so no
 * module keeps a registry of clients.
 */
export class RoomDispatcher {
  private readonly receivers = new Set<RoomReceiver>()
  private readonly handler: DispatchingHandler

  private constructor(private readonly rtm: RTM) {
    this.handler = (event) => { if (event.kind === 'room') this.dispatch(event.msg) }
    this.handler.dispatcher = this
  }

  /** The RTM's dispatcher, installed on first use. */
  static of(rtm: RTM): RoomDispatcher {
    const installed = rtm.wireHandlers.get('room') as DispatchingHandler | undefined
    if (installed?.dispatcher) return installed.dispatcher
    const dispatcher = new RoomDispatcher(rtm)
    rtm.wireHandlers.set('room', dispatcher.handler)
    return dispatcher
  }

  /** Adds a client; returns a function that removes it (the last one out uninstalls the dispatcher). */
  add(receiver: RoomReceiver): () => void {
    this.receivers.add(receiver)
    return () => {
      this.receivers.delete(receiver)
      if (this.receivers.size === 0 && this.rtm.wireHandlers.get('room') === this.handler) this.rtm.wireHandlers.delete('room')
    }
  }

  /** Every session the clients on this RTM hold: they never connect media to each other. */
  ownSessions(): Set<string> {
    const sessions = new Set<string>()
    for (const receiver of this.receivers) {
      const sessionId = receiver.session()
      if (sessionId !== null) sessions.add(sessionId)
    }
    return sessions
  }

  private dispatch(msg: unknown): void {
    const addressed = addressOf(msg)
    if (!addressed) return
    for (const receiver of [...this.receivers]) {
      if (addressed.sessionId === null || addressed.sessionId === receiver.session()) receiver.receive(addressed)
    }
  }
}
