/**
 * Scaled mode (issue 17): Redis (Debian's redis-server, appendfsync always), N relay
 * processes (src/relay/main.ts with REDIS_URL, a fresh REDIS_PREFIX) and HAProxy in front,
 * all on loopback (bench/lib/cluster-stack.ts).
 * - For N in 1, 2, 3 (BENCH_CLUSTER_RELAYS, default "1,2,3"): BENCH_CLUSTER_SUBSCRIBERS
 *   (default 3,000) light socket.io sessions (bench/lib/cluster-subscribers.ts) log in
 *   through the balancer to one app and subscribe to one channel; one publisher, also
 *   through the balancer. Publish → deliver latency (paced, every delivery and the last one
 *   of each message), then fan-out 1→all as fast as the cluster takes it (4 publishes in
 *   flight, 3 s). CPU from /proc/<pid>/stat of every relay, of redis-server and of HAProxy
 *   across the fan-out, divided by the deliveries; Redis's network bytes and PUBLISH calls
 *   from INFO. Best of BENCH_CLUSTER_ROUNDS rounds (default 1), a fresh stack each; a round
 *   that lost sessions is run again (`Disturbed`) and its reason kept.
 * - Owner failover (bench/lib/cluster-failover.ts): BENCH_CLUSTER_KILLS (default 10) SIGKILLs
 *   of an app's owner in a 3-relay stack; SDK clients through the balancer time the first
 *   write answered after the kill.
 * About 4 minutes on an idle 2-core box; BENCH_CLUSTER_SUBSCRIBERS=1000 BENCH_CLUSTER_KILLS=3
 * for a quick look.
 */
import { cpus } from 'node:os'
import type { BenchPart } from './lib/part'
import type { StatsReport } from './lib/client-pool'
import { measureFailover, type FailoverResult } from './lib/cluster-failover'
import { ClusterStack, type ClusterHealth } from './lib/cluster-stack'
import { SubscriberPool } from './lib/cluster-subscribers'
import { openConn, type BenchConn } from './lib/protocols'
import { percentile, ratio, round, type Cell } from './lib/report'
import { CLIENT_PROCESSES } from './lib/scenarios'
import { sleep, withTimeout } from './lib/relay-child'
import { monoMs } from './lib/wire'
import { partitionOfApp } from '../src/relay/cluster/redis-keys'

/** Issue 17: fan-out 1→3,000 with 1, 2 and 3 relays; 10 owner kills. */
const SUBSCRIBERS = Number(process.env.BENCH_CLUSTER_SUBSCRIBERS ?? 3000)
const RELAY_COUNTS = (process.env.BENCH_CLUSTER_RELAYS ?? '1,2,3').split(',').map(Number)
const KILLS = Number(process.env.BENCH_CLUSTER_KILLS ?? 10)
const ROUNDS = Number(process.env.BENCH_CLUSTER_ROUNDS ?? 1)
const FAILOVER_RELAYS = 3
/** Targets of issue 17. */
export const FAILOVER_P50_TARGET_MS = 3000
export const THROUGHPUT_RATIO_TARGET = 0.8
const LATENCY_MESSAGES = 40
/** One message reaches every subscriber well within this (checked: `queued`): 3,000 subscribers take 12,000 deliveries/s, ~1/3 of one relay's fan-out here. */
const LATENCY_PACE_MS = 250
const WARMUP_MESSAGES = 10
const FANOUT_MS = 3000
/**
 * Publishes in flight during the fan-out. 4, not the relay part's 8: with 8 × 3,000 writes
 * queued, one relay's socket-write completions (engine.io flushes chained through
 * process.nextTick) ran 3–5 s without yielding on this box, past the 2 s lease: the owner
 * stepped down mid-run ('paused past its lease'). 4 keeps the relays as busy (the same
 * deliveries/s) without measuring that.
 */
const FANOUT_WINDOW = 4
const CHANNEL = 'big'
/** The app of the subscribers and of the publisher (bench/lib/protocols.ts logs in to it): one partition, one owner. */
const APP_ID = 'bench'
const APP_PARTITION = partitionOfApp(APP_ID)
const LOGIN_RETRIES = 3
/** A publish whose ack takes longer than this means the cluster lost it (see `Disturbed`). */
const PUBLISH_ACK_TIMEOUT_MS = 10_000
/** Attempts per scale round when one is disturbed (sessions lost on a starved box). */
const SCALE_ATTEMPTS = 3
/** A discarded attempt's reason is cut to this in the printed note (latest.json keeps it whole). */
const DISTURBED_NOTE_CHARS = 400
/** HAProxy puts a relay back after one good /readyz check (every 500 ms). */
const LOGIN_RETRY_PAUSE_MS = 1000

export interface ClusterBenchOptions {
  relayCounts: number[]
  subscribers: number
  kills: number
  failoverRelays: number
  rounds?: number
  latencyMessages?: number
  fanoutMs?: number
}

export interface ScaleResult {
  relays: number
  subscribers: number
  /** Sessions per relay (socket.io connections through HAProxy's round robin). */
  spread: number[]
  owner: string
  /** What the relays logged at info level and above during the round (message → count), start-up lines left out. */
  relayEvents: Record<string, number>
  /** Attempts discarded before this one, and why (see `Disturbed`). */
  disturbed: string[]
  /** `failedFirst`: logins refused in the storm and retried (HAProxy 503 while a relay was out of its rotation). */
  setup: { seconds: number; perSecond: number; failedFirst: number }
  latency: { messages: number; paceMs: number; deliveries: number; lost: number; queued: boolean; p50: number; p99: number; lastP50: number; lastP99: number }
  fanout: {
    published: number; expected: number; delivered: number; seconds: number; perSecond: number
    relayCpuPercent: number; relayCpuUsPerDelivery: number; redisCpuUsPerDelivery: number; balancerCpuUsPerDelivery: number
    clientCpuUsPerDelivery: number; allCpuUsPerDelivery: number
    redisBytesPerDelivery: number; redisInBytesPerMessage: number; redisOutBytesPerMessage: number; redisPublishesPerMessage: number
  }
}

export interface ClusterResults {
  config: Record<string, unknown>
  scales: ScaleResult[]
  /** throughput(N) / throughput(1), by N. */
  throughputRatio: Record<string, number | null>
  failover: FailoverResult | null
}

type Log = (line: string) => void

/**
 * The round lost sessions, so its figures say nothing about throughput: deliveries went
 * missing, a publish was never answered, or the relays logged a step-down or a gateway
 * declared gone. A relay whose event loop stalls past the lease (2 s; a busy shared 2-core
 * box does that) causes both: an owner steps down and closes every connection of the app,
 * and an owner that stops seeing a gateway's heartbeat key drops that gateway's sessions
 * (which then get nothing more, silently). Light bench clients do not reconnect, so the
 * round is run again on a fresh stack, and what happened is kept in the results.
 */
class Disturbed extends Error {}

/** Relay log messages that mean sessions were lost. */
const LOSING_EVENTS = ['stepped down from a partition', 'a gateway process is gone; its connections left', 'closing connection']

function checkUndisturbed(stack: ClusterStack, phase: string, lost = 0): void {
  const events = stack.events()
  const losing = Object.keys(events).some((event) => LOSING_EVENTS.some((prefix) => event.startsWith(prefix)))
  if (lost > 0 || losing) throw new Disturbed(`${phase}: ${lost} deliveries lost; relay events ${JSON.stringify(events)}`)
}

async function publishAcked(publisher: BenchConn, text: string): Promise<void> {
  try {
    await withTimeout(publisher.publish(CHANNEL, text), PUBLISH_ACK_TIMEOUT_MS, 'a publish ack')
  } catch (error) {
    throw new Disturbed(String(error))
  }
}

/** One publisher, `subscribers` light clients, all through the balancer of a fresh N-relay stack. */
async function measureScale(relays: number, options: ClusterBenchOptions, log: Log): Promise<ScaleResult> {
  const stack = await ClusterStack.start(relays, `n${relays}`)
  const pool = new SubscriberPool(CLIENT_PROCESSES)
  let publisher: BenchConn | null = null
  try {
    log(`cluster ×${relays}: ${options.subscribers} subscribers log in through HAProxy from ${pool.size} client processes`)
    const loginStarted = performance.now()
    const userIds = Array.from({ length: options.subscribers }, (_, i) => `s${i}`)
    const opened = await pool.open(stack.url, APP_ID, userIds, [CHANNEL])
    let subscribers = opened.opened
    // A login storm on a busy box can get 503s from HAProxy (a relay that answered its
    // /readyz check too slowly is out for a moment): those users try again, under new names.
    for (let retry = 1; retry <= LOGIN_RETRIES && subscribers < options.subscribers; retry++) {
      const missing = options.subscribers - subscribers
      log(`cluster ×${relays}: ${missing} subscribers could not log in (${(opened.firstError || '?').slice(0, 120)}); retry ${retry} in ${LOGIN_RETRY_PAUSE_MS} ms`)
      await sleep(LOGIN_RETRY_PAUSE_MS)
      const again = await pool.open(stack.url, APP_ID, userIds.slice(0, missing).map((userId) => `${userId}r${retry}`), [CHANNEL], 16)
      subscribers += again.opened
    }
    if (subscribers < options.subscribers) throw new Disturbed(`only ${subscribers} of ${options.subscribers} subscribers logged in: ${opened.firstError}`)
    const loginMs = performance.now() - loginStarted
    checkUndisturbed(stack, `×${relays} login storm`)
    const health = (await stack.health()).filter((h): h is ClusterHealth => h !== null)
    const owner = health.find((h) => h.partitions.includes(APP_PARTITION))?.process ?? '?'
    publisher = await openConn('native', stack.url)
    await publisher.login('pub', [])

    log(`cluster ×${relays}: publish → deliver latency to ${subscribers} (owner ${owner})`)
    const latency = await measureLatency(publisher, pool, subscribers, options.latencyMessages ?? LATENCY_MESSAGES)
    checkUndisturbed(stack, `×${relays} latency`, latency.lost)
    log(`cluster ×${relays}: fan-out 1 → ${subscribers}`)
    const fanout = await measureFanout(stack, publisher, pool, subscribers, options.fanoutMs ?? FANOUT_MS)
    checkUndisturbed(stack, `×${relays} fan-out`, fanout.expected - fanout.delivered)
    return {
      relays, subscribers, spread: health.map((h) => h.sessions), owner, relayEvents: stack.events(), disturbed: [],
      setup: { seconds: round(loginMs / 1000), perSecond: round(subscribers / (loginMs / 1000), 0), failedFirst: opened.failed },
      latency, fanout,
    }
  } catch (error) {
    // A publish that failed or timed out says nothing by itself: what the relays logged does.
    if (error instanceof Disturbed && !error.message.includes('relay events')) throw new Disturbed(`×${relays}: ${error.message}; relay events ${JSON.stringify(stack.events())}`)
    throw error
  } finally {
    publisher?.close()
    await pool.stop()
    await stack.stop()
  }
}

/** Paced publishes: each reaches every subscriber before the next (else `queued`). */
async function measureLatency(publisher: BenchConn, pool: SubscriberPool, subscribers: number, messages: number): Promise<ScaleResult['latency']> {
  let seq = 0
  for (let i = 0; i < WARMUP_MESSAGES; i++) { // JIT, connection buffers, the owner's first fan-outs
    await publishAcked(publisher, `b|${seq++}|${monoMs()}|`)
    await pool.waitForDeliveries(seq * subscribers, 2000, 10_000)
  }
  await pool.reset()
  const acks: Promise<void>[] = []
  const started = monoMs()
  for (let i = 0; i < messages; i++) {
    const wait = started + i * LATENCY_PACE_MS - monoMs()
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
    const ack = publishAcked(publisher, `b|${seq++}|${monoMs()}|`)
    ack.catch(() => undefined) // seen by Promise.all below; not an unhandled rejection meanwhile
    acks.push(ack)
  }
  await Promise.all(acks)
  const expected = messages * subscribers
  await pool.waitForDeliveries(expected, 3000, 30_000)
  const stats = await pool.stats(true)
  const last = stats.lastPerSeq.map(([, latency]) => latency)
  return {
    messages, paceMs: LATENCY_PACE_MS, deliveries: stats.received, lost: expected - stats.received,
    queued: percentile(last, 99) > LATENCY_PACE_MS / 2,
    p50: round(percentile(stats.latencies, 50), 2), p99: round(percentile(stats.latencies, 99), 2),
    lastP50: round(percentile(last, 50), 2), lastP99: round(percentile(last, 99), 2),
  }
}

/** As fast as the cluster takes it: FANOUT_WINDOW publishes in flight, each waiting for its ack. */
async function measureFanout(stack: ClusterStack, publisher: BenchConn, pool: SubscriberPool, subscribers: number, fanoutMs: number): Promise<ScaleResult['fanout']> {
  await pool.reset()
  const before = { relay: stack.relayCpuSeconds(), redis: stack.redisCpuSeconds(), balancer: stack.balancerCpuSeconds(), client: (await pool.stats()).cpuMs, counters: await stack.redisCounters() }
  let seq = 0
  const started = monoMs()
  const end = started + fanoutMs
  const lane = async () => {
    while (monoMs() < end) await publishAcked(publisher, `b|${seq++}|${monoMs()}|`)
  }
  await Promise.all(Array.from({ length: FANOUT_WINDOW }, lane))
  const expected = seq * subscribers
  const stats: StatsReport = await pool.waitForDeliveries(expected, 3000, 60_000)
  const counters = await stack.redisCounters()
  const cpu = {
    relay: stack.relayCpuSeconds() - before.relay, redis: stack.redisCpuSeconds() - before.redis,
    balancer: stack.balancerCpuSeconds() - before.balancer, client: (stats.cpuMs - before.client) / 1000,
  }
  const seconds = (stats.lastRecv - started) / 1000
  const delivered = Math.max(1, stats.received)
  const usPer = (cpuSeconds: number) => round((cpuSeconds * 1e6) / delivered, 2)
  const netIn = counters.netInputBytes - before.counters.netInputBytes
  const netOut = counters.netOutputBytes - before.counters.netOutputBytes
  return {
    published: seq, expected, delivered: stats.received, seconds: round(seconds), perSecond: round(stats.received / seconds, 0),
    relayCpuPercent: round((cpu.relay / seconds) * 100, 0),
    relayCpuUsPerDelivery: usPer(cpu.relay), redisCpuUsPerDelivery: usPer(cpu.redis), balancerCpuUsPerDelivery: usPer(cpu.balancer),
    clientCpuUsPerDelivery: usPer(cpu.client), allCpuUsPerDelivery: usPer(cpu.relay + cpu.redis + cpu.balancer + cpu.client),
    redisBytesPerDelivery: round((netIn + netOut) / delivered, 2),
    redisInBytesPerMessage: round(netIn / Math.max(1, seq), 0), redisOutBytesPerMessage: round(netOut / Math.max(1, seq), 0),
    redisPublishesPerMessage: round((counters.publishes - before.counters.publishes) / Math.max(1, seq), 2),
  }
}

/** A scale round, run again (fresh stack) when disturbed, up to SCALE_ATTEMPTS times. */
async function undisturbedScale(relays: number, options: ClusterBenchOptions, log: Log): Promise<ScaleResult> {
  const disturbed: string[] = []
  for (;;) {
    try {
      return { ...await measureScale(relays, options, log), disturbed }
    } catch (error) {
      if (!(error instanceof Disturbed) || disturbed.length + 1 >= SCALE_ATTEMPTS) throw error
      disturbed.push(error.message)
      log(`cluster ×${relays}: attempt disturbed, running it again on a fresh stack — ${error.message}`)
    }
  }
}

/** Best of several rounds per figure: noise on a shared box only ever makes a figure worse. */
function bestOf(rounds: ScaleResult[]): ScaleResult {
  const fanout = rounds.reduce((a, b) => (b.fanout.perSecond > a.fanout.perSecond ? b : a))
  const latency = rounds.reduce((a, b) => (b.latency.p99 < a.latency.p99 ? b : a))
  return { ...fanout, latency: latency.latency }
}

/** Every scale, then the failover rounds; the part's figures. */
export async function measureCluster(options: ClusterBenchOptions, log: Log = () => {}): Promise<ClusterResults> {
  const scales: ScaleResult[] = []
  for (const relays of options.relayCounts) {
    const rounds: ScaleResult[] = []
    for (let r = 0; r < (options.rounds ?? 1); r++) rounds.push(await undisturbedScale(relays, options, log))
    scales.push(bestOf(rounds))
  }
  const one = scales.find((s) => s.relays === 1)
  const throughputRatio = Object.fromEntries(scales.map((s) => [String(s.relays), ratio(s.fanout.perSecond, one?.fanout.perSecond)]))
  let failover: FailoverResult | null = null
  if (options.kills > 0) {
    log(`cluster: ${options.kills} owner kills with ${options.failoverRelays} relays`)
    failover = await measureFailover({ relays: options.failoverRelays, kills: options.kills }, log)
  }
  return {
    config: {
      subscribers: options.subscribers, relayCounts: options.relayCounts, kills: options.kills, failoverRelays: options.failoverRelays,
      rounds: options.rounds ?? 1, clientProcesses: CLIENT_PROCESSES, latency: { messages: options.latencyMessages ?? LATENCY_MESSAGES, paceMs: LATENCY_PACE_MS },
      fanout: { seconds: (options.fanoutMs ?? FANOUT_MS) / 1000, window: FANOUT_WINDOW },
    },
    scales, throughputRatio, failover,
  }
}

export const clusterPart: BenchPart = {
  name: 'cluster',
  description: `scaled mode: fan-out 1→${SUBSCRIBERS.toLocaleString('en-US')} and latency with ${RELAY_COUNTS.join(', ')} relays behind HAProxy, Redis CPU and bytes per delivery; owner failover over ${KILLS} kills`,
  async run({ log, print }) {
    const result = await measureCluster({ relayCounts: RELAY_COUNTS, subscribers: SUBSCRIBERS, kills: KILLS, failoverRelays: FAILOVER_RELAYS, rounds: ROUNDS }, log)
    const { scales, failover } = result
    const row = (label: string, pick: (s: ScaleResult) => Cell): Cell[] => [label, ...scales.map(pick)]
    print({
      title: `Scaled mode: fan-out 1→${SUBSCRIBERS.toLocaleString('en-US')} and latency, relays behind HAProxy, Redis pub/sub between them`,
      columns: ['figure', ...scales.map((s) => `${s.relays} relay${s.relays > 1 ? 's' : ''}`)],
      rows: [
        row('sessions per relay', (s) => s.spread.join(' / ')),
        row('login+subscribe /s (through HAProxy)', (s) => s.setup.perSecond),
        row('  logins refused in the storm, retried', (s) => s.setup.failedFirst),
        row('latency: each delivery p50 ms', (s) => s.latency.p50),
        row('latency: each delivery p99 ms', (s) => s.latency.p99),
        row('latency: last delivery p50 ms', (s) => s.latency.lastP50),
        row('latency: last delivery p99 ms', (s) => s.latency.lastP99),
        row(`fan-out 1→${SUBSCRIBERS.toLocaleString('en-US')} deliveries/s`, (s) => s.fanout.perSecond),
        row('  × one relay', (s) => result.throughputRatio[String(s.relays)]),
        row('  relay CPU µs per delivery (all relays)', (s) => s.fanout.relayCpuUsPerDelivery),
        row('  relay CPU % of one core (all relays)', (s) => s.fanout.relayCpuPercent),
        row('  Redis CPU µs per delivery', (s) => s.fanout.redisCpuUsPerDelivery),
        row('  Redis bytes per delivery (in + out)', (s) => s.fanout.redisBytesPerDelivery),
        row('  Redis bytes in / out per message', (s) => `${s.fanout.redisInBytesPerMessage} / ${s.fanout.redisOutBytesPerMessage}`),
        row('  Redis PUBLISH per message', (s) => s.fanout.redisPublishesPerMessage),
        row('  HAProxy CPU µs per delivery', (s) => s.fanout.balancerCpuUsPerDelivery),
        row('  client CPU µs per delivery', (s) => s.fanout.clientCpuUsPerDelivery),
        row('  every process, CPU µs per delivery', (s) => s.fanout.allCpuUsPerDelivery),
        row('lost deliveries (latency + fan-out)', (s) => s.latency.lost + (s.fanout.expected - s.fanout.delivered)),
        row('attempts discarded (sessions lost, below)', (s) => s.disturbed.length),
      ],
      note: `One app (one partition, owned by the process of the first login), ${SUBSCRIBERS.toLocaleString('en-US')} light socket.io clients in ${CLIENT_PROCESSES} client processes and one publisher, all through HAProxy (round robin). ` +
        `Latency: ${LATENCY_MESSAGES} publishes ${LATENCY_PACE_MS} ms apart; queueing (last delivery p99 > half the pace): ${scales.filter((s) => s.latency.queued).map((s) => s.relays).join(', ') || 'none'}. ` +
        `Fan-out: ${FANOUT_WINDOW} publishes in flight for ${FANOUT_MS / 1000} s. CPU: /proc/<pid>/stat (10 ms ticks) of each process across the fan-out, divided by the deliveries; ` +
        `Redis bytes: INFO total_net_input_bytes + total_net_output_bytes (leases and gateway heartbeats included). ${ROUNDS > 1 ? `Best of ${ROUNDS} rounds. ` : ''}` +
        `Every process shares this box's ${cpus().length} cores: throughput with more relays is bounded by the machine; CPU per delivery is what scales.` +
        scales.flatMap((s) => s.disturbed.map((reason) => `\nDiscarded, ${s.relays} relay(s): ${reason.slice(0, DISTURBED_NOTE_CHARS)}`)).join(''),
    })
    if (failover) {
      const frow = (label: string, s: { count: number; p50: number; max: number }): Cell[] => [label, s.count, s.p50, s.max]
      print({
        title: `Owner failover: SIGKILL of an app's owner → first write answered (${failover.kills} kills, ${failover.relays} relays)`,
        columns: ['clients', 'samples', 'p50 ms', 'max ms'],
        rows: [
          frow('every client', failover.all),
          frow('  its gateway survived (frames went to the dead owner)', failover.gatewaySurvived),
          frow('  its gateway was the killed owner', failover.gatewayKilled),
          ['owner lease left at the kill (PTTL)', failover.kills, failover.leaseLeftMs.p50, failover.leaseLeftMs.max],
        ],
        note: `${failover.clientsPerKill} SDK clients per kill log in through HAProxy to an app owned by the victim, then send setUserMetadata every 100 ms (the SDK resends unanswered ones after its reconnect) until one is answered. ` +
          `Kill → link dropped p50 ${failover.droppedP50Ms} ms, link dropped → served p50 ${failover.dropToServedP50Ms} ms. A fresh relay replaces the victim behind a restarted HAProxy after each kill. ` +
          `Target: p50 ≤ ${FAILOVER_P50_TARGET_MS} ms (${failover.all.p50 <= FAILOVER_P50_TARGET_MS ? 'met' : 'NOT met'}).`,
      })
    }
    const three = result.throughputRatio['3']
    const targets: Cell[][] = []
    if (three !== undefined) targets.push(['fan-out throughput, 3 relays / 1 relay', three, `≥ ${THROUGHPUT_RATIO_TARGET}`, three !== null && three >= THROUGHPUT_RATIO_TARGET ? 'yes' : 'NO'])
    if (failover) targets.push(['owner failover p50 ms', failover.all.p50, `≤ ${FAILOVER_P50_TARGET_MS}`, failover.all.p50 <= FAILOVER_P50_TARGET_MS ? 'yes' : 'NO'])
    if (targets.length) print({ title: 'Issue 17 targets', columns: ['check', 'value', 'target', 'met'], rows: targets })
    return result
  },
}
