/**
 * Messages between the relay (sfu-pool.ts) and one SFU worker process (sfu-worker.ts), over
 * Node's IPC channel. The relay is the worker's only peer and has validated every member
 * frame (the engine's room schema) before any of it reaches here.
 *
 * A room lives on one worker. Its members are named by sessionId within `room` (the relay's
 * `<appId>\u0000<rid>`, opaque to the worker).
 */

/** One member as the worker needs it: from the room's member list (`pps`). */
export interface SfuMember { sessionId: string; publish: boolean; video: boolean; audio: boolean }

/** A seed-003 signal object as forwarded (`s`, `to`, `sdp`, `candidate`, `side`, `type`, `data`…). */
export type SfuSignal = Record<string, unknown> & { s: 'OFFER' | 'ANSWER' | 'CANDIDATE' | 'NOTIFY' }

export type ToWorker =
  /** Keep `count` receive connections offered in advance (their offers come back as `prepared`). */
  | { t: 'prepare'; count: number }
  /** A prepared receive connection is now this member's (the offer went out in its JOIN ack). A member bound again gets the new one; its old one closes. */
  | { t: 'bind'; pc: string; room: string; sessionId: string }
  /** The room's whole member list after a change; members not in it are gone (an empty list ends the room). */
  | { t: 'members'; room: string; members: SfuMember[] }
  /** A member's signal to the SFU (ANSWER to its receive offer, OFFER of its send connection, CANDIDATE, NOTIFY). */
  | { t: 'signal'; room: string; from: string; signal: SfuSignal }
  /** Report figures now (`figures` back, same `id`). */
  | { t: 'figures'; id: number }

export type FromWorker =
  | { t: 'ready' }
  | { t: 'prepared'; pc: string; sdp: string }
  /** One receive connection asked for could not be prepared (the pool asks again at the next JOIN that waits). */
  | { t: 'unprepared'; reason: string }
  /** A signal from the SFU to one member (`s` ANSWER or NOTIFY; the relay sends it with `ss: SFU_SESSION`). */
  | { t: 'signal'; room: string; to: string; signal: SfuSignal }
  /** Every LOAD_REPORT_INTERVAL_MS, and when asked. */
  | { t: 'figures'; id?: number; figures: WorkerFigures }

export interface WorkerFigures {
  /** Event-loop delay over the last interval, ms (perf_hooks monitorEventLoopDelay). */
  lagP99Ms: number
  lagMaxMs: number
  rooms: number
  members: number
  /** Peer connections open (prepared, receive and send). */
  connections: number
  /** Of them, receive connections offered in advance and not yet a member's. */
  prepared: number
  /** RTP packets forwarded to members since the worker started (one per packet per recipient). */
  forwardedPackets: number
  /** Keyframe requests (PLI) sent to publishers since start. */
  keyframeRequests: number
  rssBytes: number
  heapUsedBytes: number
  /** process.cpuUsage() since start, µs. */
  cpuUserUs: number
  cpuSystemUs: number
}

export const LOAD_REPORT_INTERVAL_MS = 500
