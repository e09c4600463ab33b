import type { BenchContext, BenchPart } from '../lib/part'
import { openFilesLimit, ratio, type Cell, type Table } from '../lib/report'
import { bestOf, CLIENT_PROCESSES, CONNECTIONS, GROUPS, JOIN_STORM, ROUNDS, runJoinStorm, type JoinStormResult, runConnections, runMessaging, SUBSCRIBERS, type ConnectionsResult, type MessagingResult } from '../lib/scenarios'
import { summarizeProfile } from '../lib/profile'
import type { ServerKind } from '../lib/servers'

export interface ServerResults { messaging: MessagingResult; connections?: ConnectionsResult; joinStorm?: JoinStormResult }
/** The relay part's data: ours, and the floor measured in the same rounds (the ratios' denominator). */
export interface RelayResults extends ServerResults { floor: ServerResults }

const CLIENTS_NOTE = `floor and ours: best of ${ROUNDS} alternating rounds (BENCH_ROUNDS), fresh server each; peer: 1 round (its join storm takes ~40 s). ` +
  `clients: ${CLIENT_PROCESSES} client processes of light socket.io 4 clients (engine.io over raw ws, no socket.io-client); ` +
  'the box is shared: clients and server compete for the same cores, so read the ratios, and the server CPU columns. ' +
  'The latency and direct phases start after a full GC in the server (one phase\'s garbage is not paid in the next one\'s p99).'

/** Sessions this box can hold: every connection is a descriptor in the server and in a client process. */
function connectionTarget(log: (line: string) => void): number {
  const limit = openFilesLimit()
  const target = Math.min(CONNECTIONS, Math.floor((limit - 500) / 10) * 10)
  if (target < CONNECTIONS) log(`open files limit ${limit}: connections scenario scaled down to ${target}`)
  return target
}

/** Messaging rounds, best of ROUNDS; with two servers the rounds alternate so both meet the same noise. */
async function messagingRounds(kinds: ServerKind[], context: BenchContext): Promise<Record<string, MessagingResult>> {
  const rounds = new Map<ServerKind, MessagingResult[]>(kinds.map((kind) => [kind, []]))
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? kinds : [...kinds].reverse()
    for (const kind of order) {
      // Profile the last round only (each round starts a fresh server).
      const profileDir = round === ROUNDS - 1 ? context.profileDir : undefined
      rounds.get(kind)!.push(await runMessaging(kind, 'native', context.log, profileDir))
    }
  }
  return Object.fromEntries([...rounds].map(([kind, results]) => [kind, bestOf(results)]))
}

async function connections(kind: ServerKind, context: BenchContext): Promise<ConnectionsResult> {
  const result = await runConnections(kind, 'native', connectionTarget(context.log), context.log)
  if (result.failed) context.log(`${kind}: ${result.failed} sessions failed: ${result.firstError}`)
  return result
}

function printProfiles(kinds: ServerKind[], context: BenchContext): void {
  if (!context.profileDir) return
  for (const kind of kinds) {
    for (const table of summarizeProfile(`${context.profileDir}/${kind}-fanout.cpuprofile`, `${kind} under fan-out`)) context.print(table)
  }
}

export const floorPart: BenchPart = {
  name: 'floor',
  description: 'raw socket.io 4 server doing the same jobs (room broadcast, direct emit); the relay part runs it too',
  async run(context) {
    const { floor: messaging } = await messagingRounds(['floor'], context)
    const floor: ServerResults = { messaging, connections: await connections('floor', context) }
    printProfiles(['floor'], context)
    context.print(messagingTable({ floor: floor.messaging }))
    return floor
  },
}

export const relayPart: BenchPart = {
  name: 'relay',
  description: 'our relay vs the floor, rounds alternating: latency, fan-out, direct round trip, 10,000 connections',
  async run(context) {
    const messaging = await messagingRounds(['floor', 'relay'], context)
    // Two alternating rounds of 10,000 sessions; the faster round of each server is kept (memory barely moves).
    const floorConns = [await connections('floor', context)]
    const oursConns = [await connections('relay', context)]
    oursConns.push(await connections('relay', context))
    floorConns.push(await connections('floor', context))
    const fastest = (rounds: ConnectionsResult[]) => rounds.reduce((a, b) => (b.perSecond > a.perSecond ? b : a))
    const floor: ServerResults = { messaging: messaging.floor, connections: fastest(floorConns), joinStorm: await runJoinStorm('floor', 'native', context.log) }
    const ours: ServerResults = { messaging: messaging.relay, connections: fastest(oursConns), joinStorm: await runJoinStorm('relay', 'native', context.log) }
    printProfiles(['floor', 'relay'], context)
    context.print(messagingTable({ floor: floor.messaging, ours: ours.messaging }))
    context.print(connectionsTable(floor, ours))
    const results: RelayResults = { ...ours, floor }
    return results
  },
}

type Column = { floor?: MessagingResult; ours?: MessagingResult; peer?: MessagingResult }

/** Messaging figures side by side; ratio columns appear for the servers present. */
export function messagingTable(servers: Column): Table {
  const present = (['floor', 'ours', 'peer'] as const).filter((k) => servers[k])
  const ratios: [string, keyof Column, keyof Column][] = [['ours/floor', 'ours', 'floor'], ['ours/peer', 'ours', 'peer'], ['peer/floor', 'peer', 'floor']]
  const shownRatios = ratios.filter(([, a, b]) => servers[a] && servers[b])
  const row = (label: string, pick: (m: MessagingResult) => number): Cell[] => [
    label,
    ...present.map((k) => pick(servers[k]!)),
    ...shownRatios.map(([, a, b]) => ratio(pick(servers[a]!), pick(servers[b]!))),
  ]
  return {
    title: `Messaging: ${SUBSCRIBERS.toLocaleString('en-US')} subscribers (lower is better for ms and µs, higher for /s)`,
    columns: ['scenario', ...present, ...shownRatios.map(([name]) => name)],
    rows: [
      row(`login+subscribe ${SUBSCRIBERS} sessions /s (2 channels each)`, (m) => m.setup.perSecond),
      row('  server CPU µs per session', (m) => m.setup.serverCpuUsPerSession),
      row('latency to 1,000: each delivery p50 ms', (m) => m.latency.p50),
      row('latency to 1,000: each delivery p99 ms', (m) => m.latency.p99),
      row('latency to 1,000: last delivery p50 ms', (m) => m.latency.lastP50),
      row('latency to 1,000: last delivery p99 ms', (m) => m.latency.lastP99),
      row('fan-out 1→1,000 deliveries/s', (m) => m.fanout1000.perSecond),
      row('  server CPU µs per delivery', (m) => cpuPerDelivery(m.fanout1000)),
      row(`fan-out ${GROUPS} ch × ${SUBSCRIBERS / GROUPS} deliveries/s`, (m) => m.fanout100x10.perSecond),
      row('  server CPU µs per delivery', (m) => cpuPerDelivery(m.fanout100x10)),
      row('direct round trip p50 ms', (m) => m.direct.p50),
      row('direct round trip p99 ms', (m) => m.direct.p99),
    ],
    note: `latency: ${servers[present[0]]!.latency.messages} publishes ${servers[present[0]]!.latency.intervalMs} ms apart; ` +
      `lost: ${present.map((k) => `${k} ${servers[k]!.latency.lost}`).join(', ')}; ` +
      `queueing (last delivery p99 > half the pace): ${present.filter((k) => servers[k]!.latency.queued).join(', ') || 'none'}\n${CLIENTS_NOTE}`,
  }
}

export function cpuPerDelivery(fanout: MessagingResult['fanout1000']): number {
  return fanout.serverCpuUsPerDelivery
}

function connectionsTable(floorResults: ServerResults, oursResults: ServerResults): Table {
  const [floor, ours] = [floorResults.connections, oursResults.connections]
  const row = (label: string, pick: (c: ConnectionsResult) => number): Cell[] => {
    const a = ours && pick(ours)
    const b = floor && pick(floor)
    return [label, b, a, ratio(a, b)]
  }
  const storm = (label: string, pick: (j: JoinStormResult) => number): Cell[] => {
    const a = oursResults.joinStorm && pick(oursResults.joinStorm)
    const b = floorResults.joinStorm && pick(floorResults.joinStorm)
    return [label, b, a, ratio(a, b)]
  }
  return {
    title: `Connections: ${(ours ?? floor)?.target.toLocaleString('en-US')} sessions logged in and subscribed (10 per channel)`,
    columns: ['figure', 'floor', 'ours', 'ours/floor'],
    rows: [
      row('sessions open', (c) => c.opened),
      row('connect+login+subscribe /s', (c) => c.perSecond),
      row('  server CPU µs per session', (c) => c.serverCpuUsPerSession),
      row('RSS per connection KiB', (c) => c.rssPerConnKiB),
      row('heap per connection KiB', (c) => c.heapPerConnKiB),
      row('server RSS MiB', (c) => c.rssMiB),
      row('server heap MiB', (c) => c.heapMiB),
      storm(`join storm: ${JOIN_STORM.toLocaleString('en-US')} into one channel /s`, (j) => j.perSecond),
      storm('  server CPU µs per session', (j) => j.serverCpuUsPerSession),
    ],
    note: 'memory: the server process after two full GCs (probe over IPC), minus the same before the first connection. Target: ≤ 20 KiB RSS per connection.',
  }
}
