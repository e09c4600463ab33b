import * as z from 'zod/mini'
import type { ServerFrame } from './events'

/**
 * The SDK's entry check on frames from the coordinator: a relay, a coordinator tab or a
 * peer is not trusted blindly. It checks the envelope and the fields the SDK relies on;
 * event bodies are re-checked by the code that converts each kind. Written with `zod/mini`
 * (same checks as classic zod) because this runs in the page and classic zod alone would be
 * about a third of the page's initial JS.
 */
const errorInfo = z.object({ error: z.literal(true), errorCode: z.number(), name: z.string(), reason: z.string(), operation: z.string() })
const replyFrame = z.union([
  z.object({ t: z.literal('res'), id: z.number(), ok: z.literal(true), result: z.record(z.string(), z.unknown()) }),
  z.object({ t: z.literal('res'), id: z.number(), ok: z.literal(false), error: errorInfo }),
])
const eventFrame = z.object({
  t: z.literal('evt'),
  event: z.looseObject({ kind: z.string().check(z.maxLength(64)), timestamp: z.number() }),
})
const serverFrame = z.union([replyFrame, eventFrame])

export function parseServerFrame(raw: unknown): ServerFrame | null {
  const parsed = serverFrame.safeParse(raw)
  return parsed.success ? (parsed.data as ServerFrame) : null
}
