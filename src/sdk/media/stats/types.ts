/**
 * Seed 001's call-quality types: `WebRTCStats` (one inbound track over one period),
 * the quality score, and `DiagnosisReport`. A figure the browser does not expose is `null`,
 * never invented.
 */

/** Seed 001 "MediaType". */
export type MediaType = 'video' | 'audio'

/** Seed 001 "WebRTCStats": one inbound track, one collection period (default 2 s). */
export interface WebRTCStats {
  /** Who sends the track: the call's peer sId, or the room member's userId. */
  srcUserId: string
  trackId: string
  /** The stream's index on its connection: 0 for a call's camera and for a room session's stream. */
  streamId: number
  mediaType: MediaType
  /** Mbps over the period. */
  bitrate: number
  packetsReceived: number
  packetsLost: number
  /** % of the period's packets lost. */
  lost: number
  /** % lost since the track started. */
  lostAvg: number
  /** ms: the connection's current round trip (candidate pair), else the remote report's. */
  rtt: number | null
  rttAvg: number | null
  /** MIME type, e.g. video/VP8. */
  codec: string | null
  decoderImplementation: string | null
  decoderType: 'hardware' | 'software' | 'unknown'
  nack: number
  firCount: number | null
  pliCount: number | null
  framesReceived: number | null
  framesDecoded: number | null
  keyFramesDecoded: number | null
  /** `${width}x${height}` */
  resolution: string | null
  fps: number | null
  /** ms per frame over the period. */
  decodeTime: number | null
  decodeTimeAvg: number | null
  processingDelay: number | null
  processingDelayAvg: number | null
  /** 0–1 (audio only). */
  audioLevel: number | null
  /** Seconds. */
  jitter: number | null
  /** ms per emitted sample/frame over the period. */
  jitterBuffer: number | null
  jitterBufferAvg: number | null
  jitterBufferTarget: number | null
  jitterBufferTargetAvg: number | null
  /** ms: network (rtt / 2) + jitter buffer + decode, over the period. */
  latency: number | null
  /** Share (0–1) of the period spent in frame gaps above 100 ms / 150 ms (video only). */
  lag100: number | null
  lag150: number | null
  nackDelta: number
  firCountDelta: number | null
  pliCountDelta: number | null
  framesReceivedDelta: number | null
  framesDecodedDelta: number | null
  packetsReceivedDelta: number
  packetsLostDelta: number
  /** Mean fps over the last 10 s, periods at 0 fps left out (video only). */
  stableFps: number | null
}

export type QualityRating = 'EXCELLENT' | 'GOOD' | 'POOR'

/** How well media flows: score 0–100, MOS 1–5, and the rating (EXCELLENT > 80, GOOD > 40, else POOR). */
export interface QualityScore {
  score: number
  mos: number
  rating: QualityRating
}

/** Every `statsIntervalMs` while media flows: every inbound track of one connection. */
export interface StatsSample {
  /** The call's sessionId, or the room session (member) the media comes from. */
  sessionId: string
  stats: WebRTCStats[]
  /** The lowest of the tracks' scores. */
  quality: QualityScore
  /** ms since epoch. */
  at: number
}

/** Our send side of a connection, as the other party asks for it in a diagnosis. */
export interface FieldDiagnosis {
  field_mode: string
  signal_connect: string
  media_connect: string
  video_transfer: string
  video_capture: string
  video_encode: string
  /** Last 30 s at 2 s: ms, %, kbps, fps. */
  rtt: number[]
  lost: number[]
  bps: number[]
  fps: number[]
}

/** Our receive side of a connection. */
export interface RemoteDiagnosis {
  remote_mode: string
  signal_connect: string
  media_connect: string
  video_transfer: string
  video_decode: string
  lag_k100: number
  lag_k150: number
  rtt: number[]
  lost: number[]
  bps: number[]
  fps: number[]
  latency: number[]
  webrtc_stats: WebRTCStats[]
}

/** Seed 001 "DiagnosisReport". */
export interface DiagnosisReport {
  /** 'ok', or the first failed check, in words. */
  diag_error: string
  /** Our own id: the call client's sId, or the room session's userId. */
  device_id: string
  /** Our link to the coordinator: 'ok' or why not. */
  remote_mqtt_connect: string
  result: { stream_id: number; field?: FieldDiagnosis; remote?: RemoteDiagnosis }[]
}
