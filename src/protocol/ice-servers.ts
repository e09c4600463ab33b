import { z } from 'zod'

/**
 * The relay's `GET /ice-servers` answer (src/relay/ice-endpoint.ts), parsed by the SDK
 * (src/sdk/ice.ts) before any of it reaches an RTCPeerConnection.
 */

/** An RTCIceServer as JSON (what RTCPeerConnection and EasyRTC's `iceConfig` take). */
export interface IceServer { urls: string | string[]; username?: string; credential?: string }

export interface ServedIce {
  iceServers: IceServer[]
  /** Set when the operator forces it (ICE_TRANSPORT_POLICY). */
  iceTransportPolicy?: 'all' | 'relay'
  /** When the TURN credentials in `iceServers` stop working (ms since epoch, the relay's clock); null: nothing expires. */
  expiresAt: number | null
  /** Their lifetime in seconds from the answer (a client schedules its refresh with it, whatever its clock says). */
  ttl: number | null
}

/** More than any sane configuration; a longer answer is refused whole. */
const MAX_SERVED_SERVERS = 32

const servedIceSchema = z.object({
  iceServers: z.array(z.object({
    urls: z.union([z.string().max(2048), z.array(z.string().max(2048)).min(1).max(16)]),
    username: z.string().max(1024).optional(),
    credential: z.string().max(1024).optional(),
  })).max(MAX_SERVED_SERVERS),
  iceTransportPolicy: z.enum(['all', 'relay']).optional(),
  expiresAt: z.number().nullable(),
  ttl: z.number().positive().nullable(),
})

/** The answer, or null when it is not one (an old relay, a static server's page, garbage). */
export function parseServedIce(value: unknown): ServedIce | null {
  const parsed = servedIceSchema.safeParse(value)
  return parsed.success ? parsed.data : null
}
