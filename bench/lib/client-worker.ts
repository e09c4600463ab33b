/**
 * One client process of the bench, driven over IPC by ClientPool. It holds many light
 * sessions, records every bench delivery (count, time, latency) and echoes direct pings.
 */
import type { Marked } from './wire'
import { openConn, type BenchConn } from './protocols'
import { DeliveryRecorder, openInLanes, serveClientCommands } from './client-process'
import type { WorkerCommand, OpenReport } from './client-pool'

const conns: BenchConn[] = []
const recorder = new DeliveryRecorder()

function handler(conn: BenchConn) {
  return (marked: Marked) => {
    if (marked.kind === 'b') recorder.record(marked)
    else if (marked.kind === 'p') void conn.direct(marked.replyTo, `q|${marked.seq}|${marked.sent}|`)
  }
}

async function open({ url, protocol, users, concurrency }: Extract<WorkerCommand, { cmd: 'open' }>): Promise<OpenReport> {
  const addresses: Record<string, string> = {}
  const report = await openInLanes(users, concurrency, async (user) => {
    const conn = await openConn(protocol, url)
    conn.onMarked = handler(conn)
    await conn.login(user.userId, user.channels)
    conns.push(conn)
    addresses[user.userId] = conn.address
  })
  return { ...report, addresses }
}

serveClientCommands(recorder, open, () => {
  for (const conn of conns.splice(0)) conn.close()
})
