import { CALL_ERRORS, callErrorName, type CallErrorName } from '../../protocol/call-codes'
import type { NetworkErrorCode } from '../../protocol/network-errors'
import type { CallInfo } from '../../sdk'
import { explainError, type UserError } from '../shared/errors'

/** What the people list says about someone, and the look of the pill that says it. */
export interface PersonState { label: string; tone: 'available' | 'busy' | 'ringing' | 'with-you' }

/**
 * A person's state in words: the list's protocol values (seed 002 `clu`: WAIT, CALLING)
 * as people say them, and the other party of our own call as ringing or with us, since
 * the parties of a call get no list updates during it (seed 002 "Clu").
 */
export function personState(person: { sId: string; state: 'WAIT' | 'CALLING' }, call: CallInfo | null): PersonState {
  if (call && call.peer === person.sId) {
    return call.state === 'ACTIVE' ? { label: 'In a call with you', tone: 'with-you' } : { label: 'Ringing', tone: 'ringing' }
  }
  return person.state === 'CALLING' ? { label: 'In a call', tone: 'busy' } : { label: 'Available', tone: 'available' }
}

/** The call in progress in a few words: "Calling bob…", "bob is calling", "In a call with bob". */
export function callStatus(call: CallInfo, accepting = false): string {
  if (call.reconnecting) return 'Reconnecting…'
  if (call.state === 'ACTIVE') return `In a call with ${call.peer}`
  if (call.direction === 'outgoing') return `Calling ${call.peer}…`
  return accepting ? `Connecting to ${call.peer}…` : `${call.peer} is calling`
}

/**
 * Why a call ended, in plain words, from our side of it. `ourMedia`: it failed because our
 * camera or microphone did not start — the error notice says why, so this line does not
 * blame the connection.
 */
export function endReasonText(call: Pick<CallInfo, 'peer' | 'direction' | 'startedAt' | 'endReason'>, ourMedia = false): string {
  const answered = call.startedAt !== null
  const reason = call.endReason
  if (reason === 'failed' && ourMedia) return answered ? 'Call stopped' : 'Call not started'
  switch (reason) {
    case 'hangup': return answered || call.direction === 'incoming' ? 'You hung up' : 'Cancelled'
    case 'declined': return 'You declined'
    case 'rejected': return 'Declined'
    case 'stopped': return !answered && call.direction === 'incoming' ? 'Missed call' : `${call.peer} hung up`
    case 'no-answer': return call.direction === 'outgoing' ? 'No answer' : 'Missed call'
    case 'busy': return 'Busy'
    case 'leave': return 'Connection lost'
    case 'failed': return 'Call failed'
    case null: return 'Call ended'
    default: {
      const unknown: never = reason
      return `Call ended (${String(unknown)})`
    }
  }
}

/** A duration as mm:ss, or h:mm:ss from an hour on. */
export function formatDuration(totalSeconds: number): string {
  const seconds = Math.max(0, Math.floor(totalSeconds))
  const pad = (n: number) => String(n).padStart(2, '0')
  const hours = Math.floor(seconds / 3600)
  const mmss = `${pad(Math.floor(seconds / 60) % 60)}:${pad(seconds % 60)}`
  return hours > 0 ? `${hours}:${mmss}` : mmss
}

/** Up to two initials for an avatar: "alice" → "A", "bob-smith" → "BS"; "?" when there are none. */
export function initials(name: string): string {
  const words = name.split(/[^\p{L}\p{N}]+/u).filter(Boolean)
  return words.slice(0, 2).map((word) => Array.from(word)[0]!.toUpperCase()).join('') || '?'
}

type Words = readonly [message: string, action?: string]

const TRY_AGAIN = 'Try again in a moment.'
const RELOAD = 'Reload the page.'

/** Seed 002 call errors (our table, src/protocol/call-codes.ts) as people meet them. */
const CALL_ERROR_WORDS: Record<CallErrorName, Words> = {
  MALFORMED_FRAME: ['The call server did not understand this page.', RELOAD],
  NO_SID: ['You are not ready for calls yet.', RELOAD],
  SID_TAKEN: ['You are ready for calls in another tab or window.', 'Close it, then reload this page.'],
  UNKNOWN_OPPONENT: ['They are not online any more.', 'Try again when they are back.'],
  SELF_TARGET: ['You cannot call yourself.'],
  OPPONENT_BUSY: ['They are in another call.', 'Try again later.'],
  BUSY: ['You are already in a call.', 'Hang up first.'],
  UNKNOWN_SESSION: ['That call has already ended.'],
  NOT_A_PARTY: ['That call has already ended.'],
  WRONG_STATE: ['That is not possible at this point of the call.', TRY_AGAIN],
  FORBIDDEN_SID: ['Calls under that name belong to someone else.', 'Sign in again.'],
  RATE_LIMITED: ['Too many actions at once.', 'Wait a second, then try again.'],
}

/**
 * A refusal of the call server (`code`, the table's `name`, the server's `message`) in
 * words, the code, name, category and message folded into `detail` for developers.
 */
export function callErrorWords(error: { code: number; name?: string; category?: NetworkErrorCode | null; message: string }): UserError {
  const name = callErrorName(error.code)
  const words: Words = name === 'UNKNOWN' ? ['The call server refused that.', TRY_AGAIN] : CALL_ERROR_WORDS[name]
  const category = error.category ? ` (${error.category})` : ''
  const detail = `${error.code} ${error.name ?? name}${category}: ${error.message}`
  return words[1] ? { message: words[0], action: words[1], detail } : { message: words[0], detail }
}

const CALL_CODES: ReadonlySet<number> = new Set(Object.values(CALL_ERRORS).map(([code]) => code))

/**
 * Any failure of a call action in words: a call server refusal (`{errorCode, name, reason,
 * operation: 'call'}`) by the call table, everything else (a blocked camera…) by explainError.
 */
export function explainCallError(error: unknown): UserError {
  if (typeof error === 'object' && error !== null) {
    const refusal = error as { errorCode?: unknown; name?: unknown; reason?: unknown; operation?: unknown }
    if (typeof refusal.errorCode === 'number' && (refusal.operation === 'call' || CALL_CODES.has(refusal.errorCode))) {
      return callErrorWords({ code: refusal.errorCode, name: typeof refusal.name === 'string' ? refusal.name : undefined, message: String(refusal.reason ?? '') })
    }
  }
  return explainError(error)
}
