import { EASYRTC_ERRORS } from '../../src/relay/easyrtc/frames'
import type { EasyrtcItem } from './easyrtc-frames'
import { preview } from './json-text'
import { Ledger, Pending } from './ledger'
import { ANSWER_TIMEOUT_MS } from './native-session'
import { PacketType, RawSocketIo } from './raw-socketio'
import type { RelayChild } from '../../bench/lib/relay-child'
import { chunks } from './waiting'

/** The events the relay listens to on /easyrtc; others have no listener, as with the reference server. */
const ANSWERED_EVENTS = new Set(['easyrtcAuth', 'easyrtcCmd', 'easyrtcMsg'])
/** Emits sent in one TCP write before waiting for their acks. */
export const EASYRTC_BATCH = 25

/**
 * Sends one fuzz connection's emits to the /easyrtc namespace, in batches of one TCP
 * write each, and checks that every EasyRTC event sent with a callback is acknowledged: `{msgType}`, and
 * for `msgType: 'error'` an errorCode from open-easyrtc's table — or that the relay closed
 * the connection first (it does after a refused authentication).
 */
export async function runEasyrtcSession(relay: RelayChild, items: EasyrtcItem[], ledger: Ledger): Promise<void> {
  const socket = await relay.orDeath(RawSocketIo.connect(relay.url, '/easyrtc'), ANSWER_TIMEOUT_MS, 'an /easyrtc connection')
  ledger.sessions++
  let nextAck = 1
  const pending = new Pending<string>()
  socket.onPacket((packet) => {
    if ((packet.type !== PacketType.ACK && packet.type !== PacketType.BINARY_ACK) || packet.id === undefined) return
    const text = pending.take(String(packet.id))
    if (text === undefined) return
    const [reply] = (Array.isArray(packet.data) ? packet.data : []) as { msgType?: unknown; msgData?: { errorCode?: unknown } }[]
    if (reply?.msgType === 'error') {
      const code = reply.msgData?.errorCode
      if (typeof code === 'string' && Object.hasOwn(EASYRTC_ERRORS, code)) ledger.code(code)
      else ledger.bad(`${preview(JSON.stringify(reply), 200)} for ${preview(text)}`)
    } else if (typeof reply?.msgType === 'string') {
      ledger.ok()
    } else {
      ledger.bad(`ack without msgType ${preview(JSON.stringify(packet.data), 200)} for ${preview(text)}`)
    }
  })
  socket.onClose(() => pending.wake())

  for (const batch of chunks(items, EASYRTC_BATCH)) {
    if (!socket.open) break
    socket.sameWrite(() => {
      for (const item of batch) {
        ledger.sent++
        const args = item.extra === undefined ? [item.msg] : [item.msg, item.extra]
        const ackId = item.ack ? nextAck++ : undefined
        const { text } = socket.emit(item.event, args, ackId)
        // The handlers take (msg, ack): with an extra argument there is no callback to answer (as in the reference).
        if (ackId !== undefined && item.extra === undefined && ANSWERED_EVENTS.has(item.event)) {
          ledger.mustAnswer++
          pending.add(String(ackId), text)
        }
      }
    })
    const deadline = Date.now() + ANSWER_TIMEOUT_MS
    while (socket.open && pending.size > 0 && Date.now() < deadline) {
      await relay.orDeath(Promise.race([pending.changed(), new Promise((resolve) => setTimeout(resolve, deadline - Date.now()))]), ANSWER_TIMEOUT_MS + 1000, 'acks of a batch of EasyRTC emits')
    }
    if (socket.open && pending.size > 0) {
      for (const text of pending.drain()) ledger.missing(preview(text))
      break
    }
  }
  const left = pending.drain()
  if (!socket.open) {
    ledger.closedFirst += left.length
    ledger.closed(socket.closed?.reason || 'socket closed')
  }
  socket.close()
}
