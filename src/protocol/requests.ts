import { z } from 'zod'
import { lockSchemas, storageSchemas, streamSchemas } from './feature-requests'

/**
 * Client → coordinator requests, one schema per operation. Parsed once where a frame
 * enters (relay socket, BroadcastChannel, data channel); the engine only sees values of
 * `Request`. Structural checks live here; seed limits (sizes, counts) are enforced by
 * the engine with the seed's own codes.
 */
const name = z.string().max(1024)
const channelType = z.union([z.literal(1), z.literal(2), z.literal(3)])
const payload = z.union([z.string(), z.custom<Uint8Array>((value) => value instanceof Uint8Array, "expected a string or bytes")])
const stateMap = z.record(z.string().max(1024), z.string().max(65536))

export const requestSchemas = {
  login: z.object({
    appId: name,
    userId: name,
    token: z.string().max(8192).optional(),
    presenceTimeout: z.number().int().optional(),
    heartbeatInterval: z.number().int().optional(),
    /** Secret handed out by a previous login; presenting it resumes that session. */
    resumeKey: z.string().max(128).optional(),
  }),
  logout: z.object({}),
  renewToken: z.object({ token: z.string().max(8192) }),
  heartbeat: z.object({}),
  subscribe: z.object({
    channelName: name,
    withMessage: z.boolean().optional(),
    withPresence: z.boolean().optional(),
    withMetadata: z.boolean().optional(),
    withLock: z.boolean().optional(),
    beQuiet: z.boolean().optional(),
  }),
  unsubscribe: z.object({ channelName: name }),
  publish: z.object({
    channelName: name,
    channelType,
    message: payload,
    customType: z.string().max(1024).optional(),
    storeInHistory: z.boolean().optional(),
  }),
  /** Agora RTM's history.getMessages: timestamps in ms, 0 = unbounded. */
  getMessages: z.object({
    channelName: name,
    channelType,
    messageCount: z.number().int().optional(),
    start: z.number().int().nonnegative().optional(),
    end: z.number().int().nonnegative().optional(),
  }),
  /** What a subscriber missed since `offset` of `epoch` (after a reconnect or failover). */
  recoverMessages: z.object({
    channelName: name,
    epoch: z.string().max(64),
    offset: z.number().int().nonnegative(),
  }),
  getOnlineUsers: z.object({
    channelName: name,
    channelType,
    includedUserId: z.boolean().optional(),
    includedState: z.boolean().optional(),
    page: z.string().max(1024).optional(),
  }),
  getUserChannels: z.object({ userId: name }),
  setState: z.object({ channelName: name, channelType, states: stateMap }),
  getState: z.object({ channelName: name, channelType, userId: name }),
  removeState: z.object({ channelName: name, channelType, states: z.array(z.string().max(1024)).max(1024).optional() }),
  /** The app's occupied message channels with their occupancy (EasyRTC's getRoomList). */
  getChannelList: z.object({}),
  ...streamSchemas,
  ...storageSchemas,
  ...lockSchemas,
} as const

export type Op = keyof typeof requestSchemas
export type ArgsOf<O extends Op> = z.infer<(typeof requestSchemas)[O]>
export type Request = { [O in Op]: { op: O; args: ArgsOf<O> } }[Op]

const requestFrameSchema = z.object({
  t: z.literal('req'),
  id: z.number().int().nonnegative(),
  op: z.string().max(64),
  args: z.unknown(),
})

export type ParsedRequest =
  | { ok: true; id: number; request: Request }
  | { ok: false; id: number | null; op: string; reason: string }

/** Validates an untrusted frame. Never throws: a malformed frame becomes a reason. */
export function parseRequestFrame(frame: unknown): ParsedRequest {
  const outer = requestFrameSchema.safeParse(frame)
  if (!outer.success) {
    const id = typeof (frame as { id?: unknown } | null)?.id === 'number' ? (frame as { id: number }).id : null
    return { ok: false, id, op: 'unknown', reason: `malformed frame: ${summarize(outer.error)}` }
  }
  const { id, op, args } = outer.data
  if (!Object.hasOwn(requestSchemas, op)) return { ok: false, id, op, reason: `unknown operation "${op}"` }
  const parsed = requestSchemas[op as Op].safeParse(args ?? {})
  if (!parsed.success) return { ok: false, id, op, reason: `invalid arguments: ${summarize(parsed.error)}` }
  return { ok: true, id, request: { op, args: parsed.data } as Request }
}

function summarize(error: z.ZodError): string {
  return error.issues.slice(0, 3).map((issue) => `${issue.path.join('.') || '(frame)'}: ${issue.message}`).join('; ')
}
