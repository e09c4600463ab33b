/**
 * One client process of the cluster bench, driven over IPC by SubscriberPool: many light
 * socket.io sessions (bench/lib/wire.ts) that log in with the longest heartbeat interval
 * and subscribe, recording every bench delivery (count, time, latency).
 *
 * Why not bench/lib/client-worker.ts: its sessions log in with the default heartbeat
 * interval (5 s) and never heartbeat, so the engine closes them after 3 missed beats
 * (15 s, HEARTBEAT_TIMEOUT); a 3,000-session cluster round lasts longer than that.
 */
import { LiteSocket } from './wire'
import { DeliveryRecorder, openInLanes, serveClientCommands } from './client-process'
import type { SubscriberCommand, SubscriberOpenReport } from './cluster-subscribers'

/** Seed 000's longest heartbeatInterval, s: the session outlives the round without a heartbeat. */
const HEARTBEAT_INTERVAL_S = 1800
const REQUEST_TIMEOUT_MS = 30_000

interface Pending { resolve(): void; reject(error: Error): void; timer: NodeJS.Timeout }

const sockets: LiteSocket[] = []
const recorder = new DeliveryRecorder()

/** Connects, logs in to `appId` and subscribes to `channels` (no presence): our relay's `'f'` request frames. */
async function openSubscriber(url: string, appId: string, userId: string, channels: string[]): Promise<LiteSocket> {
  const socket = await LiteSocket.connect(url)
  const pending = new Map<number, Pending>()
  let nextId = 1
  socket.onMarked = (marked) => { if (marked.kind === 'b') recorder.record(marked) }
  socket.onRaw = (text) => {
    if (!text.includes('"t":"res"')) return true // presence and other events are not measured
    const frame = (JSON.parse(text.slice(2)) as [string, { id: number; ok: boolean; error?: unknown }])[1]
    const waiting = pending.get(frame.id)
    pending.delete(frame.id)
    if (!waiting) return true
    clearTimeout(waiting.timer)
    if (frame.ok) waiting.resolve()
    else waiting.reject(new Error(`request failed: ${JSON.stringify(frame.error)}`))
    return true
  }
  const request = (op: string, args: object) => new Promise<void>((resolve, reject) => {
    const id = nextId++
    const timer = setTimeout(() => { pending.delete(id); reject(new Error(`${op}: no answer within ${REQUEST_TIMEOUT_MS} ms`)) }, REQUEST_TIMEOUT_MS)
    pending.set(id, { resolve, reject, timer })
    socket.emit('f', { t: 'req', id, op, args })
  })
  try {
    await request('login', { appId, userId, heartbeatInterval: HEARTBEAT_INTERVAL_S })
    await Promise.all(channels.map((channelName) => request('subscribe', { channelName, withPresence: false })))
  } catch (error) {
    socket.close()
    throw error
  }
  return socket
}

function open(command: Extract<SubscriberCommand, { cmd: 'open' }>): Promise<SubscriberOpenReport> {
  return openInLanes(command.userIds, command.concurrency, async (userId) => {
    sockets.push(await openSubscriber(command.url, command.appId, userId, command.channels))
  })
}

serveClientCommands(recorder, open, () => {
  for (const socket of sockets.splice(0)) socket.close()
})
