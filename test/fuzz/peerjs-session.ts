import WebSocket from 'ws'
import type { Ledger } from './ledger'
import { ANSWER_TIMEOUT_MS } from './native-session'
import type { PeerSession } from './peerjs-frames'
import type { RelayChild } from '../../bench/lib/relay-child'
import { until } from './waiting'

/** The broker's answers to an upgrade: the id granted, or why not. */
const HELLO_TYPES = new Set(['OPEN', 'ID-TAKEN', 'ERROR', 'INVALID-KEY'])

/**
 * One fuzz connection to the PeerJS broker: the upgrade must be answered (a typed first
 * frame, an HTTP refusal or a close), then the frames go out; the broker answers none of
 * them, so a WebSocket ping after the last one marks the end (the broker has read them
 * all when its pong comes back, or it closed the socket).
 */
export async function runPeerSession(relay: RelayChild, session: PeerSession, ledger: Ledger): Promise<void> {
  ledger.sessions++
  ledger.mustAnswer++ // the upgrade
  const ws = new WebSocket(`${relay.wsUrl}/peerjs/peerjs?${session.query}`, { perMessageDeflate: false })
  const seen: { hello: { type?: unknown } | null; closed: string | null; refused: string | null; pong: boolean } = { hello: null, closed: null, refused: null, pong: false }
  ws.on('message', (data: Buffer) => {
    if (seen.hello) return
    try {
      seen.hello = JSON.parse(data.toString()) as { type?: unknown }
    } catch {
      seen.hello = { type: 'not-json' }
    }
  })
  ws.on('pong', () => { seen.pong = true })
  ws.on('close', (code, reason) => { seen.closed = `close ${code}${reason.length ? ` ${reason.toString().slice(0, 60)}` : ''}` })
  ws.on('unexpected-response', (_request, response) => { seen.refused = `upgrade refused ${response.statusCode}`; ws.terminate() })
  ws.on('error', () => undefined) // the close event follows
  await relay.orDeath(until(() => seen.hello !== null || seen.closed !== null || seen.refused !== null, ANSWER_TIMEOUT_MS, 'the broker answering an upgrade').catch(() => undefined), ANSWER_TIMEOUT_MS + 1000, 'a PeerJS upgrade')
  if (seen.refused !== null) return ledger.code(seen.refused)
  const hello = seen.hello
  if (hello === null) {
    if (seen.closed !== null) {
      ledger.closedFirst++
      ledger.closed(seen.closed)
    } else {
      ledger.missing(`no answer to the upgrade ?${session.query}`)
    }
    ws.terminate()
    return
  }
  if (typeof hello.type === 'string' && HELLO_TYPES.has(hello.type)) ledger.code(hello.type)
  else ledger.bad(`first frame ${JSON.stringify(hello).slice(0, 200)}`)
  if (hello.type === 'OPEN') {
    for (const frame of session.frames) {
      if (ws.readyState !== WebSocket.OPEN) break
      ledger.sent++
      ws.send(frame.kind === 'text' ? frame.text : frame.data)
    }
    if (ws.readyState === WebSocket.OPEN) {
      ws.ping()
      await relay.orDeath(until(() => seen.pong || seen.closed !== null, ANSWER_TIMEOUT_MS, 'the broker reading a batch').catch(() => undefined), ANSWER_TIMEOUT_MS + 1000, 'PeerJS frames')
      if (!seen.pong && seen.closed === null) ledger.missing(`the broker did not read ${session.frames.length} frames within ${ANSWER_TIMEOUT_MS} ms`)
    }
  }
  if (seen.closed !== null) ledger.closed(seen.closed)
  ws.terminate()
}
