import type { CallInfo } from '../../sdk'

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

/** Why a call ended, in plain words, from our side of it. */
export function endReasonText(call: Pick<CallInfo, 'peer' | 'direction' | 'startedAt' | 'endReason'>): string {
  const answered = call.startedAt !== null
  const reason = call.endReason
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
