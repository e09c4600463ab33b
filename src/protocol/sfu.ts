import type { RoomSession } from './room-codes'

/**
 * The SFU room engine (`eg: 'sfu'`, issue 19) as plain values shared by the relay, its
 * worker processes and the page's SDK.
 *
 * A member of an SFU room has up to two peer connections with the relay's forwarding unit:
 * - **receive** (every member): the SFU offers it in the JOIN ack (`b.es.sdps = {id, sdp}`,
 *   `id` the member's own sessionId). Its media sections are fixed: SFU_VIDEO_SLOTS video and
 *   SFU_AUDIO_SLOTS audio, all sent by the SFU, so a room that changes never renegotiates;
 *   the SFU says which member each slot carries with a `sfu.slots` NOTIFY (last-N video, the
 *   loudest audio). The member answers with an ANSWER to SFU_SESSION.
 * - **send** (publishers): the member offers (OFFER to SFU_SESSION; video with simulcast rids
 *   SIMULCAST_LAYERS), the SFU answers with an ANSWER.
 * CANDIDATE `side` names the member's end: `subscriber` for the receive connection,
 * `publisher` for the send connection.
 */

/** Who the SFU is in a room's signals (seed 003's `ss`; `host: 'Server'` is the seed's own). */
export const SFU_SESSION: RoomSession = { userId: 'sfu', sessionId: 'sfu', category: 'stream', host: 'Server', deviceId: 'sfu' }

/** m2m SFU rooms: members publish on join while fewer than this publish (a mesh's cap is ROOM_PUBLISHER_CAP). */
export const SFU_PUBLISHER_CAP = 16

/** Video slots of a receive connection: the last N members who spoke (or published) first. */
export const SFU_VIDEO_SLOTS = 6
/** Audio slots of a receive connection: the loudest members right now (audio-level header). */
export const SFU_AUDIO_SLOTS = 3

/** Simulcast layers a publisher sends, highest first: rid and scale-down of each. */
export const SIMULCAST_LAYERS = [
  { rid: 'h', scaleResolutionDownBy: 1, maxBitrate: 1_200_000 },
  { rid: 'l', scaleResolutionDownBy: 2, maxBitrate: 250_000 },
] as const
export type LayerRid = (typeof SIMULCAST_LAYERS)[number]['rid']

/** NOTIFY types between a member and the SFU (`to: {sessionId: 'sfu'}` one way, `ss: SFU_SESSION` the other). */
export const SFU_NOTIFY = {
  /** SFU → member: which member each receive slot carries, by the slot's mid; null = idle. */
  slots: 'sfu.slots',
  /** SFU → member: the layer it now forwards of a publisher (`{sessionId, layer}`). Member → SFU: the layer wanted (`{sessionId, layer: rid | 'auto'}`). */
  layer: 'sfu.layer',
  /** Member → SFU: ask a publisher for a keyframe (`{sessionId}`), at most one per publisher per KEYFRAME_REQUEST_INTERVAL_MS. */
  keyframe: 'sfu.keyframe',
} as const

export interface SfuSlots {
  video: Record<string, string | null>
  audio: Record<string, string | null>
}

/** Keyframe requests to one publisher are at most this often (subscribe, layer switch and asks together). */
export const KEYFRAME_REQUEST_INTERVAL_MS = 500
