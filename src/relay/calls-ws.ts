import { REQUEST_RATE } from '../host/coordinator-host'
import { callError, type CallServerMessage } from '../protocol/calls'
import { attachJsonWsEdge, type JsonWsRelay } from './json-ws-edge'
import { DEFAULT_WS_APP_ID } from './ws-upgrade'

/** Seed 002's call protocol as raw WebSocket JSON, one message per frame. */
export const CALLS_WS_PATH = '/ws/calls'
/** Largest accepted frame: an SDP offer with many codecs stays far below this. */
export const MAX_CALL_FRAME_BYTES = 256 * 1024
/** Sockets that do not answer a ping within this time are dropped (a ringing call ends with `leave`, an ACTIVE one after the grace period). */
export const CALLS_PING_INTERVAL_MS = 30_000
/** The app of a socket whose URL names none: the page's default app (DEFAULT_APP_ID in src/ui/state/app.svelte.ts). */
export const DEFAULT_CALLS_APP_ID = DEFAULT_WS_APP_ID
/** Frames per socket: the native protocol's request rate; beyond it RATE_LIMITED. */
export const CALL_FRAME_RATE = REQUEST_RATE
const CONN_PREFIX = 'ws:'
const rateDetail = `at most ${CALL_FRAME_RATE.perSecond} frames per second, bursts of ${CALL_FRAME_RATE.burst}`

/**
 * The `/ws/calls` edge codec: frames in go to the coordinator's call registry of the
 * socket's app, `call` events out are written as their bare message. A page user (native
 * `call` op) and a plain WebSocket client of the same app share one sId namespace.
 *
 * Who the socket is comes from its upgrade URL: `?appId=` (default DEFAULT_CALLS_APP_ID),
 * and `?token=` — required and verified when the relay has a token secret (401 otherwise) —
 * or, in open mode, `?userId=`. A socket with a user has that userId as its sId. A socket
 * without an sId by the relay's login deadline is closed; one past MAX_OUTBOUND_BYTES of
 * unread frames too (json-ws-edge.ts).
 */
export function attachCallsWs(relay: JsonWsRelay): { close(): void } {
  return attachJsonWsEdge<CallServerMessage>(relay, {
    path: CALLS_WS_PATH,
    connPrefix: CONN_PREFIX,
    name: 'calls',
    operation: 'call',
    maxFrameBytes: MAX_CALL_FRAME_BYTES,
    pingIntervalMs: CALLS_PING_INTERVAL_MS,
    frameRate: CALL_FRAME_RATE,
    outbound: (frame) => (frame.t === 'evt' && frame.event.kind === 'call' ? frame.event.msg : undefined),
    // Registering an sId is this endpoint's login.
    logsIn: (msg) => msg.cmd === 'sId',
    loginMissing: 'no sId by the login deadline',
    rateLimited: () => callError('RATE_LIMITED', rateDetail),
    malformed: (isBinary) => callError('MALFORMED_FRAME', isBinary ? 'binary frames are not accepted' : 'not valid JSON'),
    receive: (conn, raw, identity) => relay.host.receiveCall(conn, raw, identity),
  })
}
