import type { LinkStateName } from '../state/session.svelte'
import type { UserError } from '../shared/errors'

/** The link state as the header's badge says it. */
export const LINK_WORDS: Record<LinkStateName, string> = {
  IDLE: 'Not connected',
  CONNECTING: 'Connecting…',
  CONNECTED: 'Connected',
  DISCONNECTED: 'Reconnecting…',
  SUSPENDED: 'Offline',
  FAILED: 'Disconnected',
}

/**
 * The coordinator's reason code when the same user id signs in on another connection: it
 * ends the older session (src/engine/app-engine.ts, the `kicked` event).
 */
export const SAME_USER_ELSEWHERE = 'SAME_UID_LOGIN'

/** Why the coordinator ended a session, from the FAILED link-state event. */
export interface SessionEnd { reasonCode: string; reason: string }

/** What the link banner says, and what it offers: reconnecting by itself, "Use here", or signing in again. */
export type LinkNotice =
  | { kind: 'reconnecting'; message: string }
  | { kind: 'kicked'; error: UserError }
  | { kind: 'ended'; error: UserError }

/** Words for the coordinator's reasons a person can act on; others read as a plain disconnect. */
const END_WORDS: Record<string, [message: string, action: string]> = {
  [SAME_USER_ELSEWHERE]: ['You opened Signal Kit in another tab or window.', 'This one is now read-only.'],
  TOKEN_EXPIRED: ['Your sign-in token has expired.', 'Sign in again with a new token.'],
}

/** The banner for a link state (null when all is well), in words. */
export function linkNotice(link: LinkStateName, end: SessionEnd | null): LinkNotice | null {
  switch (link) {
    case 'DISCONNECTED': return { kind: 'reconnecting', message: 'Connection lost. Reconnecting…' }
    case 'SUSPENDED': return { kind: 'reconnecting', message: 'Offline for over 2 minutes. Reconnecting…' }
    case 'FAILED': {
      const words = end ? END_WORDS[end.reasonCode] : undefined
      const detail = end ? [end.reasonCode, end.reason].filter(Boolean).join(': ') : undefined
      const error: UserError = words
        ? { message: words[0], action: words[1], detail }
        : { message: 'You were disconnected.', action: 'Sign in again to continue.', detail }
      return end?.reasonCode === SAME_USER_ELSEWHERE ? { kind: 'kicked', error } : { kind: 'ended', error }
    }
    case 'IDLE': case 'CONNECTING': case 'CONNECTED': return null
    default: {
      const never: never = link
      return never
    }
  }
}
