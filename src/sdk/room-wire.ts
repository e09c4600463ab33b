import type { RoomMember } from '../protocol/room-codes'
import type { CandidateValue } from './media/peer-link'

/** Small readers of what room frames carry, for RoomClient: the coordinator is not trusted blindly. */

export function adminOf(members: readonly RoomMember[]): string | null {
  return members.find((member) => member.role === 'admin')?.sessionId ?? null
}

export function codeOf(error: unknown): number {
  const code = (error as { errorCode?: unknown } | null)?.errorCode
  return typeof code === 'number' ? code : 0
}

export function isSdp(value: unknown): value is string | { type: string; sdp: string } {
  return typeof value === 'string' || (typeof value === 'object' && value !== null && typeof (value as { sdp?: unknown }).sdp === 'string' && typeof (value as { type?: unknown }).type === 'string')
}

export function isCandidate(value: unknown): value is CandidateValue {
  return typeof value === 'string' || (typeof value === 'object' && value !== null && typeof (value as { candidate?: unknown }).candidate === 'string')
}

/** A random session id: randomUUID where the page is a secure context, else 128 random bits in hex. */
export function newSessionId(): string {
  if (typeof globalThis.crypto?.randomUUID === 'function') return globalThis.crypto.randomUUID()
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16))
  return [...bytes].map((byte) => byte.toString(16).padStart(2, '0')).join('')
}
