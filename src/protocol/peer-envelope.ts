import { z } from 'zod'

/**
 * The envelope around native frames between browser peers: tabs over a BroadcastChannel
 * and browsers over PeerJS data channels. Peers are not trusted (DESIGN.md): every
 * envelope is parsed here where it enters; the frame inside is checked again by whoever
 * consumes it (the host for requests, the SDK for replies and events).
 */
const peerId = z.string().min(1).max(128)
const linkId = z.string().min(1).max(64)

const envelopeSchema = z.discriminatedUnion('kind', [
  /** "I coordinate since `epoch`": sent when elected, periodically, and in answer to `who`. */
  z.object({ kind: z.literal('beacon'), from: peerId, epoch: z.number() }),
  /** A new peer asks the coordinator to announce itself. */
  z.object({ kind: z.literal('who'), from: peerId }),
  /** The coordinator steps down (its election lock was stolen, or it is going away). */
  z.object({ kind: z.literal('resign'), from: peerId }),
  /** A follower opens a link to the coordinator `to`. */
  z.object({ kind: z.literal('hello'), from: peerId, to: peerId, link: linkId }),
  z.object({ kind: z.literal('welcome'), from: peerId, to: peerId, link: linkId }),
  /** Follower → coordinator: one request frame on a link. */
  z.object({ kind: z.literal('req'), from: peerId, to: peerId, link: linkId, frame: z.unknown() }),
  /** Coordinator → followers: one reply/event frame for several links (encoded once). */
  z.object({ kind: z.literal('frame'), from: peerId, targets: z.array(z.string().max(200)).max(100_000), frame: z.unknown() }),
  /** Link liveness both ways: a coordinator that stops answering pings is replaced. */
  z.object({ kind: z.literal('ping'), from: peerId, to: peerId, link: linkId }),
  z.object({ kind: z.literal('pong'), from: peerId, to: peerId, link: linkId }),
  /** Follower closes its link. */
  z.object({ kind: z.literal('bye'), from: peerId, to: peerId, link: linkId }),
  /** Coordinator closes a link (engine close, unknown link, stepping down). */
  z.object({ kind: z.literal('close'), from: peerId, to: peerId, link: linkId, reason: z.string().max(200) }),
  /** Mesh: coordinator replicates committed writes to a follower, which acknowledges. */
  z.object({ kind: z.literal('replicate'), from: peerId, to: peerId, seq: z.number().int(), writes: z.array(z.object({ key: z.string().max(4096), value: z.unknown() })).max(10_000) }),
  z.object({ kind: z.literal('replicated'), from: peerId, to: peerId, seq: z.number().int() }),
])

export type Envelope = z.infer<typeof envelopeSchema>

/** Parses an untrusted envelope; null when malformed (dropped by the caller). */
export function parseEnvelope(raw: unknown): Envelope | null {
  const parsed = envelopeSchema.safeParse(raw)
  return parsed.success ? parsed.data : null
}

/** The connection id of a follower's link on the coordinator (never contains ':'). */
export function linkConnId(peer: string, link: string): string {
  return `${peer}/${link}`
}
