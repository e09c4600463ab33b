import { z } from 'zod'

/**
 * WebRTC values the signaling protocols forward unchanged between peers (seed 002 calls,
 * seed 003 room peer signals): validated for shape and size only.
 */

/** Longest candidate line accepted (a real one is a few hundred characters). */
export const MAX_ICE_CANDIDATE_LENGTH = 4096

/** RTCIceCandidateInit, or the candidate line alone; `candidate: ''` is end-of-candidates. */
export const iceCandidateSchema = z.union([
  z.string().max(MAX_ICE_CANDIDATE_LENGTH),
  z.object({
    candidate: z.string().max(MAX_ICE_CANDIDATE_LENGTH),
    sdpMid: z.string().max(64).nullable().optional(),
    sdpMLineIndex: z.number().int().min(0).max(1024).nullable().optional(),
    usernameFragment: z.string().max(256).nullable().optional(),
  }),
])

/** An SDP as the browser gives it ({type, sdp}, `type` one of `types`) or the bare SDP text, at most `maxLength` characters. */
export function sdpSchema<const T extends readonly [string, ...string[]]>(types: T, maxLength: number) {
  return z.union([
    z.string().min(1).max(maxLength),
    z.object({ type: z.enum(types), sdp: z.string().max(maxLength) }),
  ])
}
