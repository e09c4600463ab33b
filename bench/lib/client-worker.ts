/**
 * One client process of the bench, driven over IPC by ClientPool. It holds many light
 * sessions, records every bench delivery (count, time, latency) and echoes direct pings.
 */
import { monoMs, type Marked } from './wire'
import { openConn, type BenchConn, type ProtocolName } from './protocols'
import type { WorkerCommand, OpenReport, StatsReport } from './client-pool'

const conns: BenchConn[] = []
let received = 0
let firstRecv = 0
let lastRecv = 0
let latencies = new Float64Array(1 << 16)
let latencyCount = 0
const lastPerSeq = new Map<number, number>()
const LATENCY_CAP = 1 << 22

function record(marked: Marked): void {
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

function handler(conn: BenchConn) {
  return (marked: Marked) => {
    if (marked.kind === 'b') record(marked)
    else if (marked.kind === 'p') void conn.direct(marked.replyTo, `q|${marked.seq}|${marked.sent}|`)
  }
}

async function open(url: string, protocol: ProtocolName, users: { userId: string; channels: string[] }[], concurrency: number): Promise<OpenReport> {
  const started = monoMs()
  let failed = 0
  let firstError = ''
  let next = 0
  const addresses: Record<string, string> = {}
  async function lane(): Promise<void> {
    while (next < users.length) {
      const user = users[next++]
      try {
        const conn = await openConn(protocol, url)
        conn.onMarked = handler(conn)
        await conn.login(user.userId, user.channels)
        conns.push(conn)
        addresses[user.userId] = conn.address
      } catch (error) {
        failed++
        firstError ||= String(error)
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, users.length) }, lane))
  return { opened: users.length - failed, failed, firstError, ms: monoMs() - started, addresses }
}

function stats(withLatencies: boolean): StatsReport {
  const cpu = process.cpuUsage()
  return {
    received, firstRecv, lastRecv, cpuMs: (cpu.user + cpu.system) / 1000,
    latencies: withLatencies ? latencies.slice(0, latencyCount) : new Float64Array(0),
    lastPerSeq: withLatencies ? [...lastPerSeq] : [],
  }
}

process.on('message', async (message: WorkerCommand & { reqId: number }) => {
  let reply: unknown = {}
  switch (message.cmd) {
    case 'open':
      reply = await open(message.url, message.protocol, message.users, message.concurrency)
      break
    case 'reset':
      received = firstRecv = lastRecv = latencyCount = 0
      lastPerSeq.clear()
      break
    case 'stats':
      reply = stats(message.latencies)
      break
    case 'close':
      for (const conn of conns.splice(0)) conn.close()
      break
  }
  process.send!({ reqId: message.reqId, reply })
})
// The bench stops by itself: a client process never outlives its parent.
process.on('disconnect', () => process.exit(0))
