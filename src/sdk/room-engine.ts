import type { RoomMember, RoomSession } from '../protocol/room-codes'
import type { LayerRid } from '../protocol/sfu'
import type { CandidateValue, PeerLink } from './media/peer-link'
import type { MediaEnd } from './media/stats/link-diagnosis'
import { RoomMedia, type RoomMediaIo } from './room-media'
import { planLinks, type PlanSelf } from './room-plan'

/**
 * The two ways a room's media travels (JOIN `eg`, issue 19): `native`, a mesh of browser
 * connections (room-media.ts), and `sfu`, each member connected to the relay's forwarding
 * unit (room-sfu-media.ts). RoomClient holds one engine, chosen by the JOIN ack's `eg`, and
 * drives it through this interface only.
 */
export type RoomEngine = 'native' | 'sfu'

/** What the engine goes by after a JOIN ack or a list change. */
export interface MediaView {
  members: readonly RoomMember[]
  /** Our session: `sending` when our role publishes (the engine sends once `local` is set). */
  self: PlanSelf
  /** Every session this page holds (all RoomClients on one RTM): never shown as someone else. */
  own: ReadonlySet<string>
  /** The SFU's offer of our receive connection (JOIN ack `es.sdps`), on the sync that follows a JOIN ack. */
  offer?: string
}

/** A connection as a diagnosis reads it. */
export interface MediaLink {
  pc: RTCPeerConnection
  stats: MediaEnd['stats']
}

export interface RoomMediaEngineIo extends RoomMediaIo {
  /** (SFU) the layer of a publisher the SFU now forwards to us. */
  layer(event: { sessionId: string; layer: LayerRid }): void
  /** (SFU) our receive connection is lost for good: JOIN again for a new one. */
  rejoin(): void
}

export interface RoomMediaEngine {
  readonly engine: RoomEngine
  /** What we send: set when our camera opened, before `sync` opens the links that carry it. */
  local: MediaStream | null
  /** Each member's stream we receive, by its sessionId. */
  readonly remoteStreams: Map<string, MediaStream>
  /** The sessions whose media we receive now. */
  readonly publishers: string[]
  /** Opens and closes connections as the list says; `rejoined`: our JOIN was answered again, connections start anew. */
  sync(view: MediaView, rejoined: boolean): void
  offer(from: RoomSession, sdp: string | { type: string; sdp: string }): void
  answer(from: RoomSession, sdp: string | { type: string; sdp: string }): void
  candidate(from: RoomSession, side: 'publisher' | 'subscriber', candidate: CandidateValue): void
  /** A NOTIFY meant for the engine (the SFU's): true when it took it. */
  notify(from: RoomSession, type: string, data: unknown): boolean
  /** Our connection carrying our media to `sessionId` (SFU: our one send connection), for its diagnosis. */
  sendingTo(sessionId: string): PeerLink | null
  /** The connection `sessionId`'s media reaches us on, with that member's stats. */
  receivingFrom(sessionId: string): MediaLink | null
  /** Our signaling is down: no ICE restart offers until the rejoin. */
  pause(): void
  /** No longer a publisher: what sends closes. */
  stopSending(): void
  /** Out of the room: every connection closed, every remote stream gone. */
  closeAll(): void
}

/** The mesh (room-media.ts) as an engine: the plan (room-plan.ts) says which links exist. */
export class MeshRoomMedia extends RoomMedia implements RoomMediaEngine {
  readonly engine = 'native'

  sync(view: MediaView, rejoined: boolean): void {
    const plan = planLinks(view.members, view.self, view.own)
    if (rejoined) this.restartSending(plan)
    else this.apply(plan)
  }

  notify(): boolean {
    return false
  }
}
