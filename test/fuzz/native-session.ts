import { createHash } from 'node:crypto'
import { CALL_ERRORS } from '../../src/protocol/call-codes'
import { ERRORS } from '../../src/protocol/errors'
import { ROOM_CODES } from '../../src/protocol/room-codes'
import { NextId, preview } from './json-text'
import { Ledger, Pending } from './ledger'
import type { NativeItem } from './native-frames'
import { PacketType, RawSocketIo } from './raw-socketio'
import type { RelayChild } from '../../bench/lib/relay-child'
import { chunks } from './waiting'

/** Seed 000's error codes: every refusal must carry one of them. */
export const NATIVE_CODES = new Set<number>(Object.values(ERRORS).map(([code]) => code))
/** The `call` op answers with seed 002's codes (our call table, README "Calls"). */
const CALL_OP_CODES = new Set<number>(Object.values(CALL_ERRORS).map(([code]) => code))
/** The `room` op answers with seed 003's ack codes (the error's `errorCode` is the ack's `c`). */
const ROOM_OP_CODES = new Set<number>(Object.values(ROOM_CODES))
export const RATE_LIMITED = ERRORS.OPERATION_RATE_EXCEED_LIMITATION[0]
/** Frames sent in one TCP write before waiting for their answers. */
export const NATIVE_BATCH = 40
/** An open connection that has not answered a request within this time has lost it. */
export const ANSWER_TIMEOUT_MS = 10_000

interface Sent { frame: Record<string, unknown>; text: string; numbered: boolean }
/**
 * Request ids this client numbers start here: far from the int32 values and constants the
 * generators put in `id`, so an answer is never matched to another frame that shares its id.
 */
const FIRST_ID = 2 ** 40

/** A frame that may wait for its answer indefinitely: acquireLock with retry answers when granted. */
function mayWait({ frame }: Sent): boolean {
  const args = frame.args as { retry?: unknown } | undefined
  return frame.op === 'acquireLock' && args?.retry === true
}

/** A digest of an acknowledged publish's text or bytes, as the room's members must receive it (32 KB messages stay out of memory). */
export function messageKey(message: unknown): string | null {
  if (typeof message === 'string') return `s:${createHash('sha1').update(message).digest('hex')}`
  if (message instanceof Uint8Array) return `b:${createHash('sha1').update(message).digest('hex')}`
  return null
}

/**
 * Sends one fuzz connection's frames to the native endpoint (socket.io event `f`) in
 * batches of one TCP write each, and checks that every frame carrying a numeric id is
 * answered with `{t:'res', id}`: ok, or an error with a seed-000 code. Returns the
 * acknowledged publishes into `room` (their messages must reach every member).
 */
export async function runNativeSession(relay: RelayChild, items: NativeItem[], ledger: Ledger, room: string): Promise<string[]> {
  const socket = await relay.orDeath(RawSocketIo.connect(relay.url, '/'), ANSWER_TIMEOUT_MS, 'a native socket.io connection')
  ledger.sessions++
  let nextId = FIRST_ID
  const pending = new Pending<Sent>()
  const delivered: string[] = []
  socket.onPacket((packet) => {
    if (packet.type !== PacketType.EVENT && packet.type !== PacketType.BINARY_EVENT) return
    const [name, frame] = packet.data as [unknown, { t?: unknown; id?: unknown; ok?: unknown; error?: { errorCode?: unknown } } | undefined]
    if (name !== 'f' || frame?.t !== 'res') return
    const sent = pending.take(String(frame.id))
    if (!sent) return
    if (frame.ok === true) {
      ledger.ok()
      const args = sent.frame.args as { channelName?: unknown; channelType?: unknown; message?: unknown } | undefined
      // Only our numbered frames: a generated id may repeat, and the answers of repeats can come in any order.
      const key = sent.numbered && sent.frame.op === 'publish' && args?.channelName === room && args.channelType === 1 ? messageKey(args.message) : null
      if (key !== null) delivered.push(key)
      return
    }
    const code = frame.error?.errorCode
    const known = typeof code === 'number' && (NATIVE_CODES.has(code) || (sent.frame.op === 'call' && CALL_OP_CODES.has(code)) || (sent.frame.op === 'room' && ROOM_OP_CODES.has(code) && code !== ROOM_CODES.OK))
    if (frame.ok === false && known) ledger.code(code, code === RATE_LIMITED)
    else ledger.bad(`${preview(JSON.stringify(frame), 200)} for ${preview(sent.text)}`)
  })
  socket.onClose(() => pending.wake())

  for (const batch of chunks(items, NATIVE_BATCH)) {
    if (!socket.open) break
    socket.sameWrite(() => {
      for (const item of batch) send(item)
    })
    const deadline = Date.now() + ANSWER_TIMEOUT_MS
    while (socket.open && pending.blocking(mayWait) > 0 && Date.now() < deadline) {
      await relay.orDeath(Promise.race([pending.changed(), new Promise((resolve) => setTimeout(resolve, deadline - Date.now()))]), ANSWER_TIMEOUT_MS + 1000, 'answers to a batch of native frames')
    }
    if (socket.open && pending.blocking(mayWait) > 0) {
      for (const sent of pending.drain()) if (!mayWait(sent)) ledger.missing(preview(sent.text))
      break
    }
  }
  const left = pending.drain().filter((sent) => !mayWait(sent))
  if (!socket.open) {
    ledger.closedFirst += left.length
    ledger.closed(`${socket.closed?.reason || 'socket closed'}${socket.closed?.code ? ` (${socket.closed.code})` : ''}`)
  }
  socket.close()
  return delivered

  function send(item: NativeItem): void {
    ledger.sent++
    if (item.kind === 'raw') return socket.sendRaw(item.data)
    if (item.kind === 'event') return void socket.emit(item.event, item.args)
    let value = item.value
    const numbered = isPlainObject(value) && value.id instanceof NextId
    if (numbered) value = { ...(value as Record<string, unknown>), id: nextId++ }
    const { text } = socket.emit('f', [value])
    const id = isPlainObject(value) ? value.id : undefined
    if (typeof id === 'number' && Number.isFinite(id)) {
      ledger.mustAnswer++
      pending.add(String(id), { frame: value as Record<string, unknown>, text, numbered })
    }
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array) && Object.getPrototypeOf(value) === Object.prototype
}
