/**
 * One client process of the cluster bench, driven over IPC by SubscriberPool: many light
 * socket.io sessions (bench/lib/wire.ts) that log in with the longest heartbeat interval
 * and subscribe, recording every bench delivery (count, time, latency).
 *
 * Why not bench/lib/client-worker.ts: its sessions log in with the default heartbeat
 * interval (5 s) and never heartbeat, so the engine closes them after 3 missed beats
 * (15 s, HEARTBEAT_TIMEOUT); a 3,000-session cluster round lasts longer than that.
 */
import { LiteSocket, monoMs, type Marked } from './wire'
import type { StatsReport } from './client-pool'
import type { SubscriberCommand, SubscriberOpenReport } from './cluster-subscribers'

/** Seed 000's longest heartbeatInterval, s: the session outlives the round without a heartbeat. */
const HEARTBEAT_INTERVAL_S = 1800
const LATENCY_CAP = 1 << 22
const REQUEST_TIMEOUT_MS = 30_000

interface Pending { resolve(): void; reject(error: Error): void; timer: NodeJS.Timeout }

const sockets: LiteSocket[] = []
let received = 0
let firstRecv = 0
let lastRecv = 0
let latencies = new Float64Array(1 << 16)
let latencyCount = 0
const lastPerSeq = new Map<number, number>()

function record(marked: Marked): void {
  if (marked.kind !== 'b') return
  const now = monoMs()
  received++
  if (firstRecv === 0) firstRecv = now
  lastRecv = now
  const latency = now - marked.sent
  if (latencyCount < LATENCY_CAP) {
    if (latencyCount === latencies.length) {
      const grown = new Float64Array(latencies.length * 2)
      grown.set(latencies)
      latencies = grown
    }
    latencies[latencyCount++] = latency
  }
  const prior = lastPerSeq.get(marked.seq)
  if (prior === undefined || latency > prior) lastPerSeq.set(marked.seq, latency)
}

/** Connects, logs in to `appId` and subscribes to `channels` (no presence): our relay's `'f'` request frames. */
async function openSubscriber(url: string, appId: string, userId: string, channels: string[]): Promise<LiteSocket> {
  const socket = await LiteSocket.connect(url)
  const pending = new Map<number, Pending>()
  let nextId = 1
  socket.onMarked = record
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

async function open(command: Extract<SubscriberCommand, { cmd: 'open' }>): Promise<SubscriberOpenReport> {
  const started = monoMs()
  let failed = 0
  let firstError = ''
  let next = 0
  const lane = async () => {
    while (next < command.userIds.length) {
      const userId = command.userIds[next++]
      try {
        sockets.push(await openSubscriber(command.url, command.appId, userId, command.channels))
      } catch (error) {
        failed++
        firstError ||= String(error)
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(command.concurrency, command.userIds.length) }, lane))
  return { opened: command.userIds.length - failed, failed, firstError, ms: monoMs() - started }
}

function stats(withLatencies: boolean): StatsReport {
  const cpu = process.cpuUsage()
  return {
    received, firstRecv, lastRecv, cpuMs: (cpu.user + cpu.system) / 1000,
    latencies: withLatencies ? latencies.slice(0, latencyCount) : new Float64Array(0),
    lastPerSeq: withLatencies ? [...lastPerSeq] : [],
  }
}

process.on('message', async (message: SubscriberCommand & { reqId: number }) => {
  let reply: unknown = {}
  switch (message.cmd) {
    case 'open':
      reply = await open(message)
      break
    case 'reset':
      received = firstRecv = lastRecv = latencyCount = 0
      lastPerSeq.clear()
      break
    case 'stats':
      reply = stats(message.latencies)
      break
    case 'close':
      for (const socket of sockets.splice(0)) socket.close()
      break
  }
  process.send!({ reqId: message.reqId, reply })
})
// A client process never outlives the bench that started it.
process.on('disconnect', () => process.exit(0))
