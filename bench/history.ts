/**
 * Message history (issue 16), against the relay in its own process (src/relay/main.ts, SQLite
 * in a temp DATA_DIR; bench/lib/servers.ts) with SDK clients (src/sdk) over socket.io:
 * - `rtm.history.getMessages` of 100 messages, client-side round trip p50/p99/max over
 *   BENCH_HISTORY_CALLS sequential calls (default 500) on a channel holding 1,000 stored
 *   messages of 100 bytes: the newest page, and a page from a random `start`; the relay's
 *   CPU per call (process.cpuUsage over the calls, idle work included).
 * - recovery of 300 missed messages: the subscriber's link goes through a TCP proxy
 *   (bench/lib/link-proxy.ts) that is cut — both ends see the connection end — and holds the
 *   client's reconnect attempt while a publisher stores 300 messages; then the link is let
 *   back. Time to the 300th `message` event with `recovered: true`, split at the login
 *   answer, and to CONNECTED, p50/max over BENCH_HISTORY_ROUNDS rounds (default 10) after a
 *   warm-up round.
 */
import { RTM, type MessageEvent, type RecoveryEvent } from '../src/sdk'
import { LinkProxy } from './lib/link-proxy'
import type { BenchPart } from './lib/part'
import { sleep, withTimeout } from './lib/relay-child'
import { percentile, round } from './lib/report'
import { ServerProcess } from './lib/servers'

/** Issue 16 defaults: a channel keeps 1,000 messages; a page is at most 100. */
const STORED = 1000
const PAGE = 100
const MISSED = 300
/** Bytes of every published payload (ASCII). */
const MESSAGE_BYTES = 100
const CALLS = Number(process.env.BENCH_HISTORY_CALLS ?? 500)
const ROUNDS = Number(process.env.BENCH_HISTORY_ROUNDS ?? 10)
const WARMUP_CALLS = 20
/** Publishes in flight at once while filling a channel. */
const PUBLISH_WINDOW = 100
/** A round gives up after this long (a recovery here takes tens of milliseconds). */
const ROUND_TIMEOUT_MS = 15_000
const APP_ID = 'bench-history'
const PAGE_CHANNEL = 'history-pages'
const RECOVERY_CHANNEL = 'history-recovery'

export interface HistoryBenchOptions { stored: number; calls: number; missed: number; rounds: number }

interface Stats { p50Ms: number; p99Ms: number; maxMs: number; count: number }

export interface RecoveryRound {
  /** Link back → the relay answered the login (WebSocket, socket.io handshake, login with the resume key). */
  loginMs: number
  /** Login answer → the last missed message delivered (`recoverMessages` pages). */
  recoverMs: number
  /** Link back → the last missed message delivered as `recovered`. */
  lastRecoveredMs: number
  /** Link back → linkState CONNECTED (RECONNECTED). */
  connectedMs: number
  requests: number
  resumed: boolean
  relayCpuMs: number
}

/** Pads a payload to MESSAGE_BYTES, so every stored message has the same size. */
function payload(label: string): string {
  return `${label}|`.padEnd(MESSAGE_BYTES, '.')
}

function stats(samples: number[], digits = 2): Stats {
  return { p50Ms: round(percentile(samples, 50), digits), p99Ms: round(percentile(samples, 99), digits), maxMs: round(Math.max(...samples), digits), count: samples.length }
}

async function login(url: string, userId: string): Promise<RTM> {
  const rtm = new RTM(APP_ID, userId, { url })
  await rtm.login()
  return rtm
}

/** Publishes `count` stored messages labelled `<prefix><i>`, PUBLISH_WINDOW at a time; returns their offsets. */
async function publishStored(rtm: RTM, channel: string, prefix: string, count: number): Promise<number[]> {
  const offsets: number[] = []
  for (let first = 0; first < count; first += PUBLISH_WINDOW) {
    const batch = Array.from({ length: Math.min(PUBLISH_WINDOW, count - first) }, (_, i) =>
      rtm.publish(channel, payload(`${prefix}${first + i}`), { storeInHistory: true }))
    for (const result of await Promise.all(batch)) offsets.push(result.offset ?? NaN)
  }
  return offsets
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`)
    await sleep(2)
  }
}

async function relayConnections(server: ServerProcess): Promise<number> {
  const health = await (await fetch(`${server.url}/healthz`)).json() as { connections: number }
  return health.connections
}

/** getMessages round trips on a channel of `stored` messages: the newest page, and pages from a random `start`. */
async function measurePages(server: ServerProcess, reader: RTM, options: HistoryBenchOptions) {
  // Every stored timestamp, newest first, by paging to the end (which also checks the paging).
  const timestamps: number[] = []
  let start = 0
  do {
    const page = await reader.history.getMessages(PAGE_CHANNEL, 'MESSAGE', { messageCount: PAGE, start })
    timestamps.push(...page.messageList.map((message) => message.timestamp))
    start = page.newStart
  } while (start)
  if (timestamps.length !== options.stored) throw new Error(`paged through ${timestamps.length} stored messages, expected ${options.stored}`)

  // One reply's size on the wire, as socket.io sends it (JSON text).
  let replyBytes = 0
  const sizeOf = (event: { direction: string; frame: unknown }) => {
    const frame = event.frame as { t?: string; result?: { messageList?: unknown[] } }
    if (event.direction === 'in' && frame.t === 'res' && frame.result?.messageList) replyBytes = Buffer.byteLength(JSON.stringify(frame))
  }
  reader.addEventListener('frame', sizeOf)
  await reader.history.getMessages(PAGE_CHANNEL, 'MESSAGE', { messageCount: PAGE })
  reader.removeEventListener('frame', sizeOf)

  // A `start` with at least a full page older than it.
  const randomStart = () => timestamps[Math.floor(Math.random() * (timestamps.length - PAGE + 1))]
  const run = async (startOf: () => number) => {
    for (let i = 0; i < Math.min(WARMUP_CALLS, options.calls); i++) await reader.history.getMessages(PAGE_CHANNEL, 'MESSAGE', { messageCount: PAGE, start: startOf() })
    const samples: number[] = []
    const cpuBefore = await server.cpuMs()
    for (let i = 0; i < options.calls; i++) {
      const begun = performance.now()
      const page = await reader.history.getMessages(PAGE_CHANNEL, 'MESSAGE', { messageCount: PAGE, start: startOf() })
      samples.push(performance.now() - begun)
      if (page.count !== PAGE) throw new Error(`a page held ${page.count} messages, expected ${PAGE}`)
    }
    const cpuMs = (await server.cpuMs()) - cpuBefore
    return { ...stats(samples), relayCpuUsPerCall: round((cpuMs * 1000) / options.calls, 0) }
  }
  return { newest: await run(() => 0), fromStart: await run(randomStart), replyBytes }
}

/**
 * One recovery: cut the subscriber's link, wait until the relay has seen it go and the
 * client's reconnect attempt is held, publish `missed` stored messages, let the link back.
 */
async function recoveryRound(server: ServerProcess, proxy: LinkProxy, subscriber: RTM, publisher: RTM, label: string, missed: number): Promise<RecoveryRound> {
  const connections = await relayConnections(server)
  proxy.cut()
  await until(() => subscriber.linkState === 'DISCONNECTED', ROUND_TIMEOUT_MS, 'the subscriber to see its link drop')
  await until(async () => (await relayConnections(server)) === connections - 1, ROUND_TIMEOUT_MS, 'the relay to see the subscriber go')
  await until(() => proxy.heldUpgrades > 0, ROUND_TIMEOUT_MS, 'the subscriber to try to reconnect')
  const prefix = `${label}-`
  await publishStored(publisher, RECOVERY_CHANNEL, prefix, missed)

  const received: MessageEvent[] = []
  let loginId = -1
  let requests = 0
  let loginAt = NaN
  let lastAt = NaN
  let recovery: RecoveryEvent | null = null
  const onFrame = (event: { direction: string; frame: unknown }) => {
    const frame = event.frame as { t?: string; id?: number; op?: string }
    if (event.direction === 'out' && frame.op === 'login') loginId = frame.id ?? -1
    if (event.direction === 'out' && frame.op === 'recoverMessages') requests++
    if (event.direction === 'in' && frame.t === 'res' && frame.id === loginId) loginAt = performance.now()
  }
  const onMessage = (event: MessageEvent) => {
    if (event.channelName !== RECOVERY_CHANNEL) return
    received.push(event)
    if (received.length === missed) lastAt = performance.now()
  }
  const onRecovery = (event: RecoveryEvent) => { recovery = event }
  const connected = new Promise<{ at: number; resumed: boolean }>((resolve) => {
    const onLink = (event: { currentState: string; operation: string; isResumed: boolean }) => {
      if (event.currentState !== 'CONNECTED' || event.operation !== 'RECONNECTED') return
      subscriber.removeEventListener('linkState', onLink)
      resolve({ at: performance.now(), resumed: event.isResumed })
    }
    subscriber.addEventListener('linkState', onLink)
  })
  subscriber.addEventListener('frame', onFrame)
  subscriber.addEventListener('message', onMessage)
  subscriber.addEventListener('recovery', onRecovery)
  try {
    const cpuBefore = await server.cpuMs()
    const back = performance.now()
    proxy.restore()
    const link = await withTimeout(connected, ROUND_TIMEOUT_MS, 'the subscriber to be CONNECTED again')
    await until(() => received.length >= missed, ROUND_TIMEOUT_MS, `${missed} recovered messages (got ${received.length})`)
    const relayCpuMs = (await server.cpuMs()) - cpuBefore
    checkRecovered(received, recovery, prefix, missed)
    return {
      loginMs: round(loginAt - back, 2), recoverMs: round(lastAt - loginAt, 2), lastRecoveredMs: round(lastAt - back, 2),
      connectedMs: round(link.at - back, 2), requests, resumed: link.resumed, relayCpuMs: round(relayCpuMs, 1),
    }
  } finally {
    subscriber.removeEventListener('frame', onFrame)
    subscriber.removeEventListener('message', onMessage)
    subscriber.removeEventListener('recovery', onRecovery)
  }
}

/** All missed messages, in order, once each, marked recovered, and the recovery event saying so. */
function checkRecovered(received: MessageEvent[], recovery: RecoveryEvent | null, prefix: string, missed: number): void {
  const labels = received.map((event) => String(event.message).split('|')[0])
  const expected = Array.from({ length: missed }, (_, i) => `${prefix}${i}`)
  if (labels.length !== missed || labels.some((label, i) => label !== expected[i])) {
    throw new Error(`recovered out of order or twice: ${labels.slice(0, 5).join(', ')}… (${labels.length} messages)`)
  }
  const live = received.filter((event) => event.recovered !== true).length
  if (live) throw new Error(`${live} of the missed messages came without recovered: true`)
  if (!recovery?.recovered || recovery.count !== missed) throw new Error(`recovery event ${JSON.stringify(recovery)}, expected recovered with count ${missed}`)
}

/** Both scenarios against a fresh relay; the figures of the part. */
export async function measureHistory(options: HistoryBenchOptions, log: (line: string) => void = () => {}) {
  const server = await ServerProcess.start('relay')
  const proxy = await LinkProxy.start(server.url)
  const clients: RTM[] = []
  try {
    const publisher = await login(server.url, 'publisher')
    const reader = await login(server.url, 'reader')
    const subscriber = await login(proxy.url, 'subscriber')
    clients.push(publisher, reader, subscriber)

    log(`history: storing ${options.stored} messages of ${MESSAGE_BYTES} bytes in "${PAGE_CHANNEL}"`)
    await publishStored(publisher, PAGE_CHANNEL, 'p', options.stored)
    log(`history: ${options.calls} getMessages calls of ${PAGE} messages, newest page and from a random start`)
    const pages = await measurePages(server, reader, options)

    await subscriber.subscribe(RECOVERY_CHANNEL)
    log(`history: ${options.rounds} recoveries of ${options.missed} missed messages (after a warm-up round)`)
    await recoveryRound(server, proxy, subscriber, publisher, 'warmup', options.missed)
    const rounds: RecoveryRound[] = []
    for (let r = 0; r < options.rounds; r++) rounds.push(await recoveryRound(server, proxy, subscriber, publisher, `r${r}`, options.missed))
    const pick = (key: 'loginMs' | 'recoverMs' | 'lastRecoveredMs' | 'connectedMs') => stats(rounds.map((r) => r[key]), 1)
    const recovery = {
      lastRecovered: pick('lastRecoveredMs'), login: pick('loginMs'), recover: pick('recoverMs'), connected: pick('connectedMs'),
      requestsPerRecovery: rounds[0]?.requests, resumed: rounds.every((r) => r.resumed),
      relayCpuMsPerRecovery: round(percentile(rounds.map((r) => r.relayCpuMs), 50), 1), rounds,
    }
    return { config: { ...options, messageBytes: MESSAGE_BYTES, pageMessages: PAGE }, pages, recovery }
  } finally {
    for (const rtm of clients) rtm.release()
    await proxy.close()
    await server.stop()
  }
}

export const historyPart: BenchPart = {
  name: 'history',
  description: `getMessages of ${PAGE} p50/p99 on ${STORED.toLocaleString('en-US')} stored messages; recovery of ${MISSED} missed messages after a link drop`,
  async run({ log, print }) {
    const result = await measureHistory({ stored: STORED, calls: CALLS, missed: MISSED, rounds: ROUNDS }, log)
    const { pages, recovery } = result
    print({
      title: `getMessages of ${PAGE} messages, ${STORED.toLocaleString('en-US')} stored messages of ${MESSAGE_BYTES} B, relay (SQLite) in its own process, SDK client over socket.io`,
      columns: ['page', 'p50 ms', 'p99 ms', 'max ms', 'calls', 'relay CPU µs / call'],
      rows: [
        ['newest (no start)', pages.newest.p50Ms, pages.newest.p99Ms, pages.newest.maxMs, pages.newest.count, pages.newest.relayCpuUsPerCall],
        ['from a random start', pages.fromStart.p50Ms, pages.fromStart.p99Ms, pages.fromStart.maxMs, pages.fromStart.count, pages.fromStart.relayCpuUsPerCall],
      ],
      note: `Sequential calls, client-side round trip of rtm.history.getMessages (SDK decode included) after ${WARMUP_CALLS} warm-up calls; a reply is ${pages.replyBytes.toLocaleString('en-US')} B of JSON. ` +
        'Relay CPU: process.cpuUsage of the relay across the calls, divided by the calls.',
    })
    const row = (label: string, s: Stats) => [label, s.p50Ms, s.maxMs, s.count]
    print({
      title: `Recovery of ${MISSED} missed messages after a link drop (${ROUNDS} rounds after a warm-up)`,
      columns: ['from the link back to', 'p50 ms', 'max ms', 'rounds'],
      rows: [
        row(`the ${MISSED}th message delivered with recovered: true`, recovery.lastRecovered),
        row('  · the relay answers the login (reconnect)', recovery.login),
        row(`  · then all ${MISSED} recovered (recoverMessages pages)`, recovery.recover),
        row('linkState CONNECTED (after the recovery)', recovery.connected),
      ],
      note: `The subscriber reaches the relay through a TCP proxy that is cut (both ends see the connection close) and holds the client's reconnect attempt while ` +
        `another client publishes ${MISSED} stored messages; "link back" forwards the held attempt, so the SDK's backoff delay is not counted. ` +
        `${recovery.requestsPerRecovery} recoverMessages requests per recovery; session resumed: ${recovery.resumed}; relay CPU per recovery (p50): ${recovery.relayCpuMsPerRecovery} ms. ` +
        'The SDK recovers before it reports CONNECTED, so CONNECTED comes after the last recovered message. ' +
        'The bench relay runs with PUBLISH_RATE and REQUEST_RATE of 1000000/1000000 (bench/lib/servers.ts) so the stores and the 300-message burst are not rate limited.',
    })
    return result
  },
}
