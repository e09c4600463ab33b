import { ROOM_CODES } from '../../src/protocol/room-codes'
import type { RelayChild } from '../../bench/lib/relay-child'
import { preview } from './json-text'
import type { Ledger } from './ledger'
import { ANSWER_TIMEOUT_MS } from './native-session'
import { RoomsClient, type RoomFrame } from './rooms-client'
import { mustBeAcked, type RoomsItem } from './rooms-frames'
import { until } from './waiting'
import { itemPreview } from './ws-frames'
import { closeSettled, recordShortfall, sendAll } from './ws-session'

/** Seed 003's ack codes (src/protocol/room-codes.ts). */
export const ROOM_CODE_SET = new Set<number>(Object.values(ROOM_CODES))

/** A push (a list change, a kick of this socket's session) rather than the ack of a frame this socket sent. */
export function isPush(frame: RoomFrame): boolean {
  return frame.s === 'PUBLISH_LIST_CHANGED' || (frame.s === 'KICK' && frame.b !== undefined && 'id' in frame.b)
}

/** A frame with a code: an ack or a push. Its code must be the seed's, and an error ack must echo `req` and say why in `msg`. */
function wellFormed(frame: RoomFrame): boolean {
  if (typeof frame.c !== 'number' || !ROOM_CODE_SET.has(frame.c) || typeof frame.s !== 'string' || typeof frame.b !== 'object' || frame.b === null) return false
  return frame.c === ROOM_CODES.OK || ('req' in frame.b && typeof frame.b.msg === 'string')
}

/**
 * Sends one fuzz connection's frames to /ws/rooms in one burst (fewer than the per-second
 * frame allowance) and checks that every frame that must be acked was (acks come in the
 * frames' order, one per frame at most), every ack and push carries a seed code, or that
 * the relay closed the socket first (frames over 256 KiB close it with 1009).
 */
export async function runRoomsSession(relay: RelayChild, items: RoomsItem[], ledger: Ledger): Promise<void> {
  let acks = 0
  let accepted = 0
  let rateLimited = 0
  const client = await relay.orDeath(RoomsClient.open(relay.wsUrl, '', (frame) => {
    if (frame.c === undefined) return // a signal forwarded from another member
    if (!wellFormed(frame)) return ledger.bad(preview(JSON.stringify(frame), 200))
    ledger.tally(frame.c as number)
    if (isPush(frame)) return
    acks++
    if (frame.c === ROOM_CODES.OK) accepted++
    else if (typeof frame.b?.msg === 'string' && frame.b.msg.startsWith('rate limited')) rateLimited++
  }), ANSWER_TIMEOUT_MS, 'a /ws/rooms connection')
  ledger.sessions++
  const required = sendAll(client, items, ledger, mustBeAcked)
  await relay.orDeath(until(() => acks >= required || !client.open, ANSWER_TIMEOUT_MS, 'acks for /ws/rooms frames').catch(() => undefined), ANSWER_TIMEOUT_MS + 1000, '/ws/rooms acks')
  await closeSettled(client, '/ws/rooms')
  // Acks beyond the required ones answer peer signals and quiet heartbeats the engine refused.
  const counted = Math.min(acks, required)
  ledger.answered += counted
  ledger.accepted += Math.min(accepted, counted)
  ledger.rateLimited += Math.min(rateLimited, counted)
  recordShortfall(ledger, client, required, acks, (short) =>
    `${short} of ${required} frames unacked; among them ${items.filter(mustBeAcked).map(itemPreview).slice(-3).join(' | ')}`)
  client.close()
}
