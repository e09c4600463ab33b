/**
 * Rooms (issue 13). Two figures:
 * - four members in one m2m room (four headless Chromium contexts, fake camera, the built
 *   page on the relay): click "Create room" → every page plays every remote video, and the
 *   last "Join" click → the same, p50/p95 over BENCH_ROOMS rounds (default 8, after one
 *   warm-up). The driver (bench/rooms-driver.ts) runs inside scripts/netns-run.
 * - the relay's CPU per room signal: the relay alone in a child process (src/relay/main.ts),
 *   CPU_ROOMS rooms of CPU_MEMBERS raw `/ws/rooms` clients that know only seed 003, each
 *   sending HEARTBEAT (no ack, no push) and then UPDATE (an ack and a PUBLISH_LIST_CHANGED
 *   to every member) at a pace under the per-socket frame rate, for BENCH_ROOM_SIGNAL_MS
 *   (default 4000) each. CPU from /proc/<pid>/stat (user + system, 10 ms ticks) across the
 *   burst and until its last ack, divided by the signals sent.
 */
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { ROOM_FRAME_RATE } from '../src/relay/rooms-ws'
import { JsonWs } from './lib/json-ws'
import { isSamplesLine, runNetnsDriver } from './lib/netns-driver'
import type { BenchPart } from './lib/part'
import { RelayChild, sleep } from './lib/relay-child'
import { percentile, round } from './lib/report'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const DRIVER = fileURLToPath(new URL('./rooms-driver.ts', import.meta.url))
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
/** The browser half gives up after this long (build + 9 rounds take well under a minute here). */
const DRIVER_TIMEOUT_MS = 300_000
const CPU_ROOMS = 10
const CPU_MEMBERS = 4
const PHASE_MS = Number(process.env.BENCH_ROOM_SIGNAL_MS ?? 4000)
/** One frame per socket this often: under the relay's per-socket frame rate (ROOM_FRAME_RATE), so nothing is refused. */
const PACE_MS = Math.ceil(1000 / (ROOM_FRAME_RATE.perSecond * 0.85))
const DRAIN_LIMIT_MS = 15_000
const APP_ID = 'bench-rooms'

interface Sample { createToAllMs: number; joinToAllMs: number }

export const roomsPart: BenchPart = {
  name: 'rooms',
  description: 'rooms: four members in one m2m room, click → every page plays every remote video (p50/p95); relay CPU per room signal',
  async run({ log, print }) {
    const signals = await roomSignalCpu(log)
    print({
      title: `Relay CPU per room signal (${CPU_ROOMS} m2m rooms × ${CPU_MEMBERS} raw /ws/rooms clients, ${PHASE_MS / 1000} s per signal)`,
      columns: ['signal', 'signals', 'per second', 'pushes out', 'refused', 'relay CPU ms', 'CPU µs / signal'],
      rows: [signals.heartbeat, signals.update].map((p) => [p.signal, p.signals, p.perSecond, p.pushes, p.refused, p.cpuMs, p.cpuUsPerSignal]),
      note: `HEARTBEAT without send_ack: no answer, no push. UPDATE: an ack to the sender and a PUBLISH_LIST_CHANGED to each of the ${CPU_MEMBERS} members. `
        + `Relay idle CPU over the same time: ${signals.idleCpuMs} ms (included above). Each socket sends one frame every ${PACE_MS} ms (limit ${ROOM_FRAME_RATE.perSecond}/s).`,
    })

    if (!existsSync(`${ROOT}/index.html`)) return { signals, meeting: { skipped: 'no index.html: no page' } }
    if (!existsSync(CHROMIUM)) return { signals, meeting: { skipped: `no Chromium at ${CHROMIUM} (set CHROMIUM_PATH)` } }
    log('rooms: building the page and running four-member m2m rooms inside scripts/netns-run')
    const output = await runNetnsDriver({ driver: DRIVER, timeoutMs: DRIVER_TIMEOUT_MS, isResult: isSamplesLine })
    const { samples, rounds, warmup, members } = JSON.parse(output) as { samples: Sample[]; rounds: number; warmup: number; members: number }
    const meeting = figures(samples)
    print({
      title: `Four-member m2m room, headless Chromium contexts, fake camera (${rounds} rounds after ${warmup} warm-up)`,
      columns: ['→ every page plays every remote video', 'p50 ms', 'p95 ms', 'max ms'],
      rows: [
        ['from the host’s "Create room" click', meeting.createP50Ms, meeting.createP95Ms, meeting.createMaxMs],
        ['from the last "Join" click', meeting.joinP50Ms, meeting.joinP95Ms, meeting.joinMaxMs],
      ],
      note: `${members} pages, each sending its camera to the 3 others (12 peer connections, 12 encoders on one box); includes getUserMedia, `
        + 'JOIN through the relay, OFFER/ANSWER/CANDIDATE relaying and the first decoded frame of each remote video. The joiners paste the link as soon as the host has it.',
    })
    return { signals, meeting: { rounds, warmup, members, ...meeting } }
  },
}

function figures(samples: Sample[]) {
  const create = samples.map((s) => s.createToAllMs)
  const join = samples.map((s) => s.joinToAllMs)
  return {
    createP50Ms: round(percentile(create, 50), 1), createP95Ms: round(percentile(create, 95), 1), createMaxMs: round(Math.max(...create), 1),
    joinP50Ms: round(percentile(join, 50), 1), joinP95Ms: round(percentile(join, 95), 1), joinMaxMs: round(Math.max(...join), 1),
    samples,
  }
}


interface Member { ws: JsonWs; rid: string; ss: { userId: string; sessionId: string; category: 'stream'; host: 'Server'; deviceId: string } }

interface PhaseResult { signal: string; signals: number; perSecond: number; pushes: number; refused: number; cpuMs: number; cpuUsPerSignal: number }

/** The relay's CPU per HEARTBEAT and per UPDATE, from raw seed 003 clients. */
async function roomSignalCpu(log: (line: string) => void) {
  const relay = await RelayChild.start({ logLevel: 'warn' })
  const members: Member[] = []
  try {
    for (let r = 0; r < CPU_ROOMS; r++) {
      const rid = `bench-room-${r}`
      for (let m = 0; m < CPU_MEMBERS; m++) {
        const userId = `bench-${r}-${m}`
        const ws = await JsonWs.open(`${relay.wsUrl}/ws/rooms?appId=${APP_ID}&userId=${userId}`, { keep: false })
        const member: Member = { ws, rid, ss: { userId, sessionId: `session-${r}-${m}`, category: 'stream', host: 'Server', deviceId: `device-${r}-${m}` } }
        members.push(member)
        const ack = ws.waitFor((msg) => msg.s === 'JOIN' && 'c' in msg, 5000)
        ws.send({ action: 'join', data: { s: 'JOIN', ch: 'm2m', ss: member.ss, rid, ve: true, ae: true, eg: 'native', op: { roomCreating: m === 0 } } })
        const answer = await ack
        if (answer?.c !== 200) throw new Error(`JOIN of ${userId} refused: ${JSON.stringify(answer)}`)
      }
    }
    log(`rooms: ${members.length} raw clients in ${CPU_ROOMS} rooms; measuring the relay's CPU per signal`)
    const idleStart = relay.cpuSeconds()!
    await sleep(PHASE_MS)
    const idleCpuMs = round((relay.cpuSeconds()! - idleStart) * 1000, 0)
    const heartbeat = await phase(relay, members, 'HEARTBEAT', (member, i) => ({
      action: 'heartbeat', data: { s: 'HEARTBEAT', ch: 'm2m', ss: member.ss, rid: member.rid, bid: `b${i}`, send_ack: false },
    }))
    const update = await phase(relay, members, 'UPDATE', (member, i) => ({
      action: 'updateVideo', data: { s: 'UPDATE', ch: 'm2m', ss: member.ss, rid: member.rid, ve: true, ae: i % 2 === 0 },
    }))
    return { rooms: CPU_ROOMS, membersPerRoom: CPU_MEMBERS, phaseMs: PHASE_MS, paceMs: PACE_MS, idleCpuMs, heartbeat, update }
  } finally {
    for (const member of members) member.ws.ws.terminate()
    await relay.stop()
  }
}

/**
 * Every member sends `frame` once per PACE_MS for PHASE_MS; then the burst is drained: every
 * UPDATE acknowledged, or (HEARTBEAT, which has no ack) one last HEARTBEAT with send_ack per
 * member answered, which comes after all of that member's others.
 */
async function phase(relay: RelayChild, members: Member[], signal: 'HEARTBEAT' | 'UPDATE', frame: (member: Member, i: number) => unknown): Promise<PhaseResult> {
  let acked = 0
  let pushes = 0
  let refused = 0
  for (const member of members) {
    member.ws.onMessage = (msg) => {
      if (msg.s === 'PUBLISH_LIST_CHANGED') pushes++
      else if (msg.s === signal && msg.c === 200) acked++
      else if (typeof msg.c === 'number' && msg.c !== 200) refused++
    }
  }
  const cpuStart = relay.cpuSeconds()!
  const started = performance.now()
  let sent = 0
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      if (performance.now() - started >= PHASE_MS) {
        clearInterval(timer)
        return resolve()
      }
      for (const member of members) member.ws.send(frame(member, sent++))
    }, PACE_MS)
  })
  if (signal === 'HEARTBEAT') {
    for (const member of members) member.ws.send({ action: 'heartbeat', data: { s: 'HEARTBEAT', ch: 'm2m', ss: member.ss, rid: member.rid, bid: 'last', send_ack: true } })
    sent += members.length
  }
  const expected = signal === 'HEARTBEAT' ? members.length : sent
  const deadline = performance.now() + DRAIN_LIMIT_MS
  while (acked + refused < expected) {
    if (performance.now() > deadline) throw new Error(`${signal}: ${acked} of ${expected} acks within ${DRAIN_LIMIT_MS} ms`)
    await sleep(2)
  }
  const seconds = (performance.now() - started) / 1000
  const cpuMs = (relay.cpuSeconds()! - cpuStart) * 1000
  for (const member of members) member.ws.onMessage = () => {}
  return {
    signal, signals: sent, perSecond: round(sent / seconds, 0), pushes, refused,
    cpuMs: round(cpuMs, 0), cpuUsPerSignal: round((cpuMs * 1000) / sent, 1),
  }
}
