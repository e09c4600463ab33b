import type { DiagnosisReport, StatsSample, WebRTCStats } from '../../../sdk'

/** A video track's stats with plausible figures; `change` overrides any of them. */
export function videoStats(change: Partial<WebRTCStats> = {}): WebRTCStats {
  return {
    srcUserId: 'bob', trackId: 'v1', streamId: 0, mediaType: 'video', bitrate: 1.25, packetsReceived: 990, packetsLost: 10, lost: 0.5, lostAvg: 1,
    rtt: 42, rttAvg: 40, codec: 'video/VP8', decoderImplementation: 'libvpx', decoderType: 'software', nack: 3, firCount: 0, pliCount: 1,
    framesReceived: 300, framesDecoded: 298, keyFramesDecoded: 2, resolution: '640x480', fps: 30, decodeTime: 1.5, decodeTimeAvg: 1.4,
    processingDelay: 20, processingDelayAvg: 21, audioLevel: null, jitter: 0.004, jitterBuffer: 30, jitterBufferAvg: 31, jitterBufferTarget: 25,
    jitterBufferTargetAvg: 25, latency: 70, lag100: 0.01, lag150: 0, nackDelta: 1, firCountDelta: 0, pliCountDelta: 0, framesReceivedDelta: 60,
    framesDecodedDelta: 60, packetsReceivedDelta: 200, packetsLostDelta: 1, stableFps: 30, ...change,
  }
}

/** An audio track's stats (no video figures). */
export function audioStats(change: Partial<WebRTCStats> = {}): WebRTCStats {
  return videoStats({
    trackId: 'a1', mediaType: 'audio', bitrate: 0.03, codec: 'audio/opus', decoderImplementation: null, decoderType: 'unknown', firCount: null,
    pliCount: null, framesReceived: null, framesDecoded: null, keyFramesDecoded: null, resolution: null, fps: null, decodeTime: null,
    decodeTimeAvg: null, processingDelay: null, processingDelayAvg: null, audioLevel: 0.2, lag100: null, lag150: null, firCountDelta: null,
    pliCountDelta: null, framesReceivedDelta: null, framesDecodedDelta: null, stableFps: null, ...change,
  })
}

export function sample(at: number, stats: WebRTCStats[] = [videoStats(), audioStats()], sessionId = 's1'): StatsSample {
  return { sessionId, stats, quality: { score: 90, mos: 4.4, rating: 'EXCELLENT' }, at }
}

export function report(change: Partial<DiagnosisReport> = {}): DiagnosisReport {
  const series = { rtt: [40, 44], lost: [0, 1], bps: [1200, 1000], fps: [30, 28] }
  return {
    diag_error: 'ok', device_id: 'alice', remote_mqtt_connect: 'ok',
    result: [{
      stream_id: 0,
      remote: { remote_mode: 'p2p', signal_connect: 'ok', media_connect: 'ok', video_transfer: 'ok', video_decode: 'ok', lag_k100: 0.02, lag_k150: 0, latency: [70], webrtc_stats: [], ...series },
      field: { field_mode: 'p2p', signal_connect: 'ok', media_connect: 'ok', video_transfer: 'ok', video_capture: 'ok', video_encode: 'ok', ...series },
    }],
    ...change,
  }
}
