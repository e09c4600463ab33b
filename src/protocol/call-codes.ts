/**
 * Seed 002's call states and error table: plain values without zod, so that the page's
 * SDK (which only reads them) does not pull the relay's zod schemas into its bundle.
 * `./calls` re-exports all of it.
 */

/** Seed 002 "Clu": a client's state in the list. */
export const ClientCallState = { WAIT: 1, CALLING: 2 } as const
/** Seed 002 "Ssu": a session's state. */
export const SessionState = { NEW: 1, PENDING: 2, ACTIVE: 3, CLOSED: 4 } as const
export type ClientCallStateValue = (typeof ClientCallState)[keyof typeof ClientCallState]
export type SessionStateValue = (typeof SessionState)[keyof typeof SessionState]
export type SessionStateName = keyof typeof SessionState

/**
 * Why the coordinator itself closed a session (ours: seed 002 has no field for it). It
 * travels as `reason` on `ssu` 4 and on the `stop` the coordinator sends; seed-only clients
 * ignore the extra field and see the seed's messages.
 * - `no-answer`: it rang (PENDING) for the ring timeout; both parties get `stop` + `ssu` 4.
 * - `busy`: the creator's NEW session lost to a call that rang it first (glare).
 */
export type CloseReason = 'no-answer' | 'busy'

/** An ACTIVE call waits this long for a party whose link dropped to claim it back (then `leave`). */
export const DEFAULT_CALL_GRACE_MS = 30_000
/** A call rings (PENDING) at most this long before the coordinator closes it as `no-answer`. */
export const DEFAULT_RING_TIMEOUT_MS = 45_000

/**
 * Seed 002 links an error-code page that is not part of the seed; this is our table.
 * Every error reaches only the sender as `{cmd:'error', code, message}` and changes nothing.
 */
export const CALL_ERRORS = {
  MALFORMED_FRAME: [1001, 'malformed frame: not a JSON object of a known cmd with the required fields'],
  NO_SID: [1002, 'register first with {cmd:"sId"}'],
  SID_TAKEN: [1003, 'that sId is held by another client'],
  UNKNOWN_OPPONENT: [1004, 'no client has that sId'],
  SELF_TARGET: [1005, 'opponentId is your own sId'],
  OPPONENT_BUSY: [1006, 'the opponent is in another call'],
  BUSY: [1007, 'you are in a call'],
  UNKNOWN_SESSION: [1008, 'no open session has that sessionId'],
  NOT_A_PARTY: [1009, 'you are not a party of that session'],
  WRONG_STATE: [1010, 'this cmd is not allowed in the session state or for your role'],
  FORBIDDEN_SID: [1011, 'that sId is not yours: an identified client’s sId is its userId, and a userId belongs to its user'],
  RATE_LIMITED: [1012, 'too many frames on this connection; the frame was dropped, slow down'],
} as const satisfies Record<string, readonly [number, string]>
export type CallErrorName = keyof typeof CALL_ERRORS

/** The table's name for a code, or UNKNOWN for a code it does not have (a newer server's). */
export function callErrorName(code: number): CallErrorName | 'UNKNOWN' {
  return (Object.keys(CALL_ERRORS) as CallErrorName[]).find((name) => CALL_ERRORS[name][0] === code) ?? 'UNKNOWN'
}
