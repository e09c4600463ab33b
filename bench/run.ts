/**
 * `npm run bench` — relay benchmarks side by side with the floor and a peer (issue 6).
 *
 *   npm run bench                    every part: relay (with the floor), peer, page, calls, tabs, rooms, history, cluster, sfu
 *                                    (3–5 min on an idle 2-core box; longer when the box is busy)
 *   npm run bench -- relay           one part (relay runs the floor too, alternating rounds: ratios need both)
 *   npm run bench -- floor peer      several parts
 *   npm run bench -- relay --profile also CPU-profile floor and relay under fan-out
 *                                    (bench/results/<server>-fanout.cpuprofile, top costs printed;
 *                                    open the file in Chrome DevTools → Performance for the tree)
 *   BENCH_ROUNDS=1 npm run bench -- relay   a quicker, noisier run
 *
 * Parts:
 *   floor  raw socket.io 4 server (bench/servers/floor.ts) doing the same jobs as the relay, alone
 *   relay  our relay (src/relay/main.ts): publish→deliver latency to 1,000 subscribers, fan-out
 *          1→1,000 and 100 channels × 10, direct (user channel) round trip, 10,000 sessions
 *          logged in and subscribed (RSS/heap per connection, connect+login rate), and a
 *          join storm of 5,000 sessions into one channel
 *   peer   open-easyrtc 2.1.8's server (bench/servers/easyrtc.ts), the same messaging scenarios
 *   page   `vite build` into a temp folder: initial JS/CSS raw and gzip, lazy chunks
 *   calls  call setup time, two Chromium tabs (bench/calls.ts)
 *   tabs   tabs mode request→ack and failover (bench/tabs.ts)
 *   rooms  four members in one m2m room, click → every remote video plays; relay CPU per room signal (bench/rooms.ts)
 *   history getMessages of 100 p50/p99 on 1,000 stored messages; recovery of 300 missed messages after a link drop (bench/history.ts)
 *   cluster scaled mode (REDIS_URL) behind HAProxy: fan-out 1→3,000 and latency with 1, 2, 3 relays, Redis CPU and
 *          bytes per delivery; owner failover (SIGKILL → first write answered) over 10 kills (bench/cluster.ts)
 *   sfu    SFU rooms: 1 synthetic publisher → 1, 5, 10, 20 … 49 synthetic viewers (BENCH_SFU_COUNTS) through the relay's
 *          werift worker: forwarded packets/s per core, worker CPU, RSS and lag, join → first frame, the largest room
 *          where every viewer got ≥ 15 fps; the mesh beside it (bench/sfu.ts)
 *
 * Read the "server CPU µs per delivery / per session" rows first: on a shared box the
 * throughput and latency figures move with whatever else runs; CPU per unit of work much less.
 * Every server runs in its own child process on a free 127.0.0.1 port; clients run in
 * BENCH_CLIENT_PROCESSES (default 2) child processes of light socket.io clients; messaging
 * figures are the best of BENCH_ROUNDS (default 3) rounds. Every phase
 * is bounded in count and time, and BENCH_MAX_SECONDS (default 900) stops a stuck run.
 * Tables go to stdout; figures and machine details to bench/results/latest.json (merged
 * with the previous file, so a part run alone keeps the others' last figures).
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import type { BenchContext, BenchPart, BenchResults } from './lib/part'
import { machine, openFilesLimit, printTable, ratio, round, type Cell } from './lib/report'
import { CLIENT_PROCESSES, CONNECTIONS, GROUPS, LATENCY_MESSAGES, LATENCY_PACE_MS, ROUNDS, SUBSCRIBERS } from './lib/scenarios'
import { floorPart, relayPart, type RelayResults, type ServerResults } from './parts/relay'
import { peerPart } from './parts/peer'
import { INITIAL_JS_TARGET_GZIP_KB, pagePart } from './parts/page'
import { callsPart } from './calls'
import { tabsPart } from './tabs'
import { roomsPart } from './rooms'
import { historyPart } from './history'
import { clusterPart } from './cluster'
import { sfuPart } from './sfu'

const PARTS: BenchPart[] = [floorPart, relayPart, peerPart, pagePart, callsPart, tabsPart, roomsPart, historyPart, clusterPart, sfuPart]
const RESULTS_DIR = fileURLToPath(new URL('./results', import.meta.url))
const LATEST = `${RESULTS_DIR}/latest.json`
const MAX_SECONDS = Number(process.env.BENCH_MAX_SECONDS ?? 900)

function selectParts(args: string[]): BenchPart[] {
  const names = args.filter((arg) => !arg.startsWith('--'))
  for (const name of names) {
    if (!PARTS.some((part) => part.name === name)) {
      console.error(`unknown part "${name}"; parts: ${PARTS.map((p) => p.name).join(', ')}`)
      process.exit(2)
    }
  }
  const wanted = new Set(names.length ? names : PARTS.map((p) => p.name))
  // The relay part measures the floor itself, in rounds alternating with the relay.
  if (wanted.has('relay')) wanted.delete('floor')
  return PARTS.filter((part) => wanted.has(part.name))
}

/** 10,000 sessions need 10,000 descriptors in the server; raise the soft limit (children inherit it). */
function raiseOpenFilesLimit(): void {
  const want = CONNECTIONS + 2000
  if (openFilesLimit() >= want) return
  try {
    execFileSync('prlimit', ['--pid', String(process.pid), `--nofile=${want}:${want}`], { stdio: 'ignore' })
  } catch {
    console.warn(`could not raise the open files limit to ${want} (prlimit); the connections scenario will be smaller`)
  }
}

function loadPrevious(): BenchResults['parts'] {
  if (!existsSync(LATEST)) return {}
  try {
    return (JSON.parse(readFileSync(LATEST, 'utf8')) as BenchResults).parts ?? {}
  } catch {
    return {}
  }
}

function summary(results: BenchResults): void {
  const data = <T>(name: string) => results.parts[name]?.data as T | undefined
  const ours = data<RelayResults>('relay')
  const floor = ours?.floor // measured in the same rounds as ours
  const peer = data<{ messaging: ServerResults['messaging'] }>('peer')
  const page = data<{ initialJsGzipKB?: number }>('page')
  const rows: Cell[][] = []
  const check = (label: string, value: number | null | undefined, target: string, ok: (v: number) => boolean) => {
    if (value === null || value === undefined) return
    rows.push([label, value, target, ok(value) ? 'yes' : 'NO'])
  }
  const m = (s?: ServerResults | { messaging: ServerResults['messaging'] }) => s?.messaging
  check('latency p99 (each delivery), ours/floor', ratio(m(ours)?.latency.p99, m(floor)?.latency.p99), '≤ 1.5', (v) => v <= 1.5)
  check('latency p99 (last delivery), ours/floor', ratio(m(ours)?.latency.lastP99, m(floor)?.latency.lastP99), '≤ 1.5', (v) => v <= 1.5)
  check('direct round trip p99, ours/floor', ratio(m(ours)?.direct.p99, m(floor)?.direct.p99), '≤ 1.5', (v) => v <= 1.5)
  check('fan-out 1→1,000, ours/floor', ratio(m(ours)?.fanout1000.perSecond, m(floor)?.fanout1000.perSecond), '≥ 0.8', (v) => v >= 0.8)
  check('fan-out 100×10, ours/floor', ratio(m(ours)?.fanout100x10.perSecond, m(floor)?.fanout100x10.perSecond), '≥ 0.8', (v) => v >= 0.8)
  // The same targets seen through server CPU per delivery: steadier than throughput on a shared box.
  check('  server CPU per delivery 1→1,000, ours/floor', ratio(m(ours)?.fanout1000.serverCpuUsPerDelivery, m(floor)?.fanout1000.serverCpuUsPerDelivery), '≤ 1.25', (v) => v <= 1.25)
  check('  server CPU per delivery 100×10, ours/floor', ratio(m(ours)?.fanout100x10.serverCpuUsPerDelivery, m(floor)?.fanout100x10.serverCpuUsPerDelivery), '≤ 1.25', (v) => v <= 1.25)
  check(`RSS per connection at ${ours?.connections?.opened ?? '?'} sessions, KiB`, ours?.connections?.rssPerConnKiB, '≤ 20', (v) => v <= 20)
  check(`join storm into one channel, CPU/session ours/floor (not an issue target)`, ratio(ours?.joinStorm?.serverCpuUsPerSession, floor?.joinStorm?.serverCpuUsPerSession), '≤ 1.5', (v) => v <= 1.5)
  check('latency p99 (each delivery), ours/peer', ratio(m(ours)?.latency.p99, m(peer)?.latency.p99), '< 1', (v) => v < 1)
  check('latency p99 (last delivery), ours/peer', ratio(m(ours)?.latency.lastP99, m(peer)?.latency.lastP99), '< 1', (v) => v < 1)
  check('fan-out 1→1,000, ours/peer', ratio(m(ours)?.fanout1000.perSecond, m(peer)?.fanout1000.perSecond), '> 1', (v) => v > 1)
  check('fan-out 100×10, ours/peer', ratio(m(ours)?.fanout100x10.perSecond, m(peer)?.fanout100x10.perSecond), '> 1', (v) => v > 1)
  check('direct round trip p99, ours/peer', ratio(m(ours)?.direct.p99, m(peer)?.direct.p99), '< 1', (v) => v < 1)
  check('login+subscribe 1,000 sessions /s, ours/peer', ratio(m(ours)?.setup.perSecond, m(peer)?.setup.perSecond), '> 1', (v) => v > 1)
  check('initial JS, KB gzip', page?.initialJsGzipKB, `≤ ${INITIAL_JS_TARGET_GZIP_KB}`, (v) => v <= INITIAL_JS_TARGET_GZIP_KB)
  const ran = Object.entries(results.parts).map(([name, part]) => `${name} ${part?.ranAt}`).join(', ')
  printTable({ title: 'Summary: issue 6 targets', columns: ['check', 'value', 'target', 'met'], rows, note: `figures from: ${ran}` })
}

async function main(): Promise<void> {
  const parts = selectParts(process.argv.slice(2))
  const profile = process.argv.includes('--profile')
  raiseOpenFilesLimit()
  mkdirSync(RESULTS_DIR, { recursive: true })
  const watchdog = setTimeout(() => {
    console.error(`bench: stopped after ${MAX_SECONDS} s (BENCH_MAX_SECONDS)`)
    process.exit(3)
  }, MAX_SECONDS * 1000)
  watchdog.unref()

  const results: BenchResults = {
    machine: { ...machine(), loadAverageAtStart: loadavg().map((l) => round(l, 2)) },
    config: {
      subscribers: SUBSCRIBERS, channelsOf10: GROUPS, connections: CONNECTIONS, clientProcesses: CLIENT_PROCESSES,
      client: 'light socket.io 4 client: engine.io v4 over raw ws (bench/lib/wire.ts)', rounds: ROUNDS,
      latency: { messages: LATENCY_MESSAGES, paceMs: LATENCY_PACE_MS }, fanoutSeconds: 3,
    },
    parts: loadPrevious(),
  }
  const started = performance.now()
  const context: BenchContext = {
    results,
    ranNow: new Set(),
    log: (line) => console.log(`[${((performance.now() - started) / 1000).toFixed(1).padStart(5)} s] ${line}`),
    print: printTable,
    profileDir: profile ? RESULTS_DIR : undefined,
  }
  console.log(`bench: ${parts.map((p) => p.name).join(', ')} on ${results.machine.cpuModel} ×${results.machine.cores}, ${results.machine.node}`)
  let failed = false
  for (const part of parts) {
    const partStarted = performance.now()
    context.log(`── ${part.name}: ${part.description}`)
    try {
      const data = await part.run(context)
      const skipped = (data as { skipped?: string } | undefined)?.skipped
      if (skipped) context.log(`${part.name}: skipped — ${skipped}`)
      results.parts[part.name] = { ranAt: new Date().toISOString(), seconds: round((performance.now() - partStarted) / 1000, 1), data }
      context.ranNow.add(part.name)
    } catch (error) {
      failed = true
      console.error(`${part.name}: failed —`, error)
    }
    writeFileSync(LATEST, `${JSON.stringify(results, null, 2)}\n`)
  }
  summary(results)
  console.log(`\nbench: done in ${round((performance.now() - started) / 1000, 0)} s; results in ${LATEST}`)
  process.exit(failed ? 1 : 0)
}

void main()
