import { fieldDiagnosis, firstFailure, remoteDiagnosis } from './diagnosis'
import type { StatsMonitor } from './monitor'
import type { DiagnosisReport, FieldDiagnosis } from './types'

/** How long a diagnosis waits for the other party's send side. */
export const FIELD_TIMEOUT_MS = 3_000
/** The message types that carry the exchange (a call's `notify`, a room's NOTIFY). */
export const DIAGNOSE_REQUEST = 'sk.diagnose'
export const DIAGNOSE_REPLY = 'sk.diagnosis'
/** Our mesh: the same engine on both ends of every connection. */
const MODE = 'p2p'
const MAX_SERIES = 64
const MAX_CHECK_LENGTH = 200

/** One end of a media connection, as a diagnosis needs it. */
export interface MediaEnd {
  /** The connection's stats (null: no connection yet): a StatsMonitor, or one SFU publisher's share of its receive connection's. */
  stats: Pick<StatsMonitor, 'samples' | 'sendPeriods'> | null
  pc: RTCPeerConnection | null
  /** Our signaling (coordinator link and the call or room session) is up. */
  signalConnected: boolean
  /** Our camera track on this connection, for the send side. */
  camera: MediaStreamTrack | null
}

/** What the other party answers about its send side: the words of each check and its series. */
function fieldReport(end: MediaEnd, now = Date.now()): FieldDiagnosis {
  const camera = end.camera && { readyState: end.camera.readyState, enabled: end.camera.enabled, muted: end.camera.muted }
  return fieldDiagnosis({ periods: end.stats?.sendPeriods ?? [], signalConnected: end.signalConnected, mediaState: end.pc?.connectionState ?? 'none', now, mode: MODE, camera })
}

/** Seed 001's report for one stream: our receive side, the other's send side (or why it is missing), the first failure. */
export function diagnosisReport(input: { deviceId: string; coordinatorLink: string; end: MediaEnd; field: FieldDiagnosis | null; now?: number }): DiagnosisReport {
  const now = input.now ?? Date.now()
  const { end } = input
  const remote = remoteDiagnosis({ samples: end.stats?.samples ?? [], signalConnected: end.signalConnected, mediaState: end.pc?.connectionState ?? 'none', now, mode: MODE })
  const report = { device_id: input.deviceId, remote_mqtt_connect: input.coordinatorLink, result: [{ stream_id: 0, remote, field: input.field ?? unanswered() }] }
  return { diag_error: firstFailure(report), ...report }
}

/** Our link to the coordinator, in the report's words. */
export function coordinatorLinkWords(linkState: string): string {
  if (linkState === 'CONNECTED') return 'ok'
  if (linkState === 'IDLE') return 'not logged in'
  return `the link to the coordinator is ${linkState.toLowerCase()}`
}

/**
 * Requests to the other party for its send side, each answered (by id) within
 * FIELD_TIMEOUT_MS or not at all (null).
 */
export class FieldRequests {
  private readonly pending = new Map<string, (field: FieldDiagnosis | null) => void>()
  private next = 0

  /** Sends a request through `send` and waits for its answer. */
  ask(send: (data: { id: string }) => Promise<void>): Promise<FieldDiagnosis | null> {
    const id = `d${++this.next}`
    return new Promise((resolve) => {
      const timer = setTimeout(() => settle(null), FIELD_TIMEOUT_MS)
      const settle = (field: FieldDiagnosis | null) => {
        clearTimeout(timer)
        this.pending.delete(id)
        resolve(field)
      }
      this.pending.set(id, settle)
      send({ id }).catch(() => settle(null))
    })
  }

  /**
   * A diagnosis message from the other party (`type` DIAGNOSE_REQUEST or DIAGNOSE_REPLY):
   * its answer to one of our requests, or its request for our send side, answered through
   * `reply` with `ourEnd` (failures ignored: the call or room may have ended meanwhile).
   */
  received(type: string, data: unknown, ourEnd: () => MediaEnd, reply: (data: { id: string; field: FieldDiagnosis }) => Promise<void>): void {
    if (type === DIAGNOSE_REPLY) return this.answered(data)
    const id = requestId(data)
    if (type === DIAGNOSE_REQUEST && id) reply({ id, field: fieldReport(ourEnd()) }).catch(() => undefined)
  }

  /** An answer from the other party: untrusted, used only when it is a well-formed report for a request of ours. */
  answered(data: unknown): void {
    if (!isRecord(data) || typeof data.id !== 'string') return
    const field = parseField(data.field)
    if (field) this.pending.get(data.id)?.(field)
  }

  /** Ends every wait (the call or room ended). */
  clear(): void {
    for (const settle of [...this.pending.values()]) settle(null)
  }
}

/** A request's id, when the message is one. */
function requestId(data: unknown): string | null {
  return isRecord(data) && typeof data.id === 'string' && data.id.length <= 32 ? data.id : null
}

function unanswered(): FieldDiagnosis {
  const timeout = `timeout: the other side did not answer within ${FIELD_TIMEOUT_MS / 1000} s`
  return { field_mode: 'unknown', signal_connect: timeout, media_connect: timeout, video_transfer: timeout, video_capture: timeout, video_encode: timeout, rtt: [], lost: [], bps: [], fps: [] }
}

function parseField(value: unknown): FieldDiagnosis | null {
  if (!isRecord(value)) return null
  const words = ['field_mode', 'signal_connect', 'media_connect', 'video_transfer', 'video_capture', 'video_encode'] as const
  const series = ['rtt', 'lost', 'bps', 'fps'] as const
  for (const key of words) if (typeof value[key] !== 'string' || (value[key] as string).length > MAX_CHECK_LENGTH) return null
  for (const key of series) {
    const list = value[key]
    if (!Array.isArray(list) || list.length > MAX_SERIES || !list.every((n) => typeof n === 'number' && Number.isFinite(n))) return null
  }
  const field = Object.fromEntries([...words, ...series].map((key) => [key, value[key]]))
  return field as unknown as FieldDiagnosis
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
