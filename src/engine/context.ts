import type { RtmErrorInfo } from '../protocol/errors'
import type { Reply } from './app-engine'
import type { ConnId, Effects } from './effects'
import { channelKey, type MemberOptions, type Session } from './model'
import type { Presence } from './presence'

/** What a feature module (streams, storage, locks) may use of its app engine. */
export interface EngineContext {
  readonly presence: Presence
  /** Logged-in (possibly connection-lost) sessions by userId. */
  readonly sessions: Map<string, Session>
  /** Answers a request that was left waiting; remembered so a resend after a reconnect gets it too. */
  answerLater(session: Session, requestId: number, reply: Reply, fx: Effects): void
}

/** An operation's outcome: an error value, a result, or ANSWER_LATER (the reply comes through `answerLater`). */
export type Outcome = RtmErrorInfo | Record<string, unknown>

/** Returned by a handler whose request is answered later (compared by identity). */
export const ANSWER_LATER: Outcome = Object.freeze({ answerLater: true })

/** Connected members of a channel that asked for one kind of event. */
export function listenersOf(presence: Presence, type: number, name: string, flag: keyof MemberOptions): ConnId[] {
  const channel = presence.channels.get(channelKey(type, name))
  return channel ? presence.connsWith(channel, flag) : []
}

/** One part of a durable key: escaped so that names containing '/' cannot collide. */
export function keyPart(value: string): string {
  return encodeURIComponent(value)
}
