import { z } from 'zod'
import { checkShape, MAX_FRAME_DEPTH } from './bounds'
import { CALL_ERRORS, type CallErrorName, type ClientCallStateValue, type CloseReason, type SessionStateValue } from './call-codes'
import { iceCandidateSchema, opaqueDataSchema, sdpSchema } from './rtc-values'

/**
 * Seed 002's one-to-one call protocol (`002_23b5345c11bdb429.txt`), with the fields the
 * seed leaves open made precise by issue 3. The same JSON travels raw on `/ws/calls` and
 * inside the native protocol (request op `call`, event kind `call`).
 */

export * from './call-codes'

/** Limits of one frame's fields; the transports bound the whole frame (256 KiB on /ws/calls). */
export const MAX_SID_LENGTH = 64
export const MAX_SDP_LENGTH = 64 * 1024
export const MAX_ID_LENGTH = 128

const SID_PATTERN = /^[\x21-\x7e]+$/
const sId = z.string().min(1).max(MAX_SID_LENGTH).regex(SID_PATTERN, 'printable ASCII without spaces')
const id = z.string().min(1).max(MAX_ID_LENGTH)
/** An SDP as the browser gives it ({type, sdp}) or the bare SDP text; forwarded unchanged. */
const sdp = sdpSchema(['offer', 'answer', 'pranswer', 'rollback'], MAX_SDP_LENGTH)

export const callClientSchema = z.discriminatedUnion('cmd', [
  z.object({ cmd: z.literal('sId'), sId: sId.optional() }),
  z.object({ cmd: z.literal('session'), opponentId: z.string().max(MAX_ID_LENGTH) }),
  z.object({ cmd: z.literal('call'), sessionId: id, offer: sdp }),
  z.object({ cmd: z.literal('accept'), sessionId: id, answer: sdp }),
  z.object({ cmd: z.literal('reject'), sessionId: id }),
  z.object({ cmd: z.literal('stop'), sessionId: id }),
  z.object({ cmd: z.literal('icecandidate'), sessionId: id, icecandidate: iceCandidateSchema }),
  z.object({ cmd: z.literal('notify'), opponentId: z.string().max(MAX_ID_LENGTH), type: z.string().max(64), data: opaqueDataSchema }),
  // Ours (call resume): take back an ACTIVE session after a reconnect, or recreate it on a restarted coordinator.
  z.object({ cmd: z.literal('claim'), sessionId: id, opponentId: sId }),
])

/** Client → server. */
export type CallClientMessage = z.infer<typeof callClientSchema>
export type SdpValue = z.infer<typeof sdp>
export type IceCandidateValue = z.infer<typeof iceCandidateSchema>

/** Server → client. */
export type CallServerMessage =
  | { cmd: 'sId'; sId: string }
  | { cmd: 'clu'; list: { sId: string; state: ClientCallStateValue }[] }
  | { cmd: 'ssu'; sessionId: string; state: SessionStateValue; reason?: CloseReason }
  | { cmd: 'call'; sessionId: string; offer: SdpValue; sId: string }
  | { cmd: 'accept'; sessionId: string; answer: SdpValue }
  | { cmd: 'reject'; sessionId: string }
  | { cmd: 'stop'; sessionId: string; reason?: CloseReason }
  | { cmd: 'leave'; sessionId: string }
  | { cmd: 'icecandidate'; sessionId: string; icecandidate: IceCandidateValue }
  | { cmd: 'notify'; type: string; data: unknown; sId: string }
  | { cmd: 'error'; code: number; message: string }

export type ParsedCallMessage = { ok: true; msg: CallClientMessage } | { ok: false; reason: string }

/** Validates an untrusted call frame. Never throws. */
export function parseCallMessage(raw: unknown): ParsedCallMessage {
  // Before zod: its recursive walk of a frame nested thousands deep would overflow the stack.
  const shape = checkShape(raw, MAX_FRAME_DEPTH)
  if (!shape.ok) return { ok: false, reason: `(frame): ${shape.reason}` }
  const parsed = callClientSchema.safeParse(raw)
  if (parsed.success) return { ok: true, msg: parsed.data }
  const reason = parsed.error.issues.slice(0, 3).map((issue) => `${issue.path.join('.') || '(frame)'}: ${issue.message}`).join('; ')
  return { ok: false, reason }
}

export function callError(name: CallErrorName, detail?: string): Extract<CallServerMessage, { cmd: 'error' }> {
  const [code, message] = CALL_ERRORS[name]
  return { cmd: 'error', code, message: detail ? `${message} (${detail})` : message }
}

/**
 * The native protocol's request for a call frame: `{t:'req', id, op:'call', args:{cmd…}}`.
 * The reply is an acknowledgement; the protocol's answers arrive as `call` events.
 */
export const callRequestFrameSchema = z.object({
  t: z.literal('req'),
  id: z.number().int().nonnegative(),
  op: z.literal('call'),
  args: z.unknown(),
})
