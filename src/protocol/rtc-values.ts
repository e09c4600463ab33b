import { z } from 'zod'
import { checkShape, MAX_OPAQUE_BYTES, MAX_OPAQUE_DEPTH } from './bounds'

/**
 * WebRTC values the signaling protocols forward unchanged between peers (seed 002 calls,
 * seed 003 room peer signals): validated for shape and size only.
 */

/** Opaque data one client hands another (a call's `notify`, a room's NOTIFY): bounded so its encoding cannot blow up the relay. */
export const opaqueDataSchema = z.unknown().superRefine((data, ctx) => {
  const shape = checkShape(data, MAX_OPAQUE_DEPTH, MAX_OPAQUE_BYTES)
  if (!shape.ok) ctx.addIssue({ code: 'custom', message: `data ${shape.reason}` })
})

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
