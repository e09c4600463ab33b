/**
 * `npm run soak -- --minutes N` — a bounded mixed workload against a relay for N minutes
 * (issue 11): chat in a few channels, presence churn, metadata writes, locks, calls on
 * /ws/calls and through the native `call` op, slow readers (sockets that stop reading) and
 * reconnect storms with resume. One row per minute: requests, deliveries, errors by code,
 * request p99, relay RSS and heapUsed; at the end the memory criterion, PASS or FAIL.
 *
 *   npm run soak                          10 minutes against this checkout
 *   npm run soak -- --minutes 30
 *   npm run soak -- --seconds 20          a short run (rows every 5 s)
 *   npm run soak -- --relay-dir /tmp/old  the relay of another checkout (needs its node_modules)
 *
 * The relay runs as a child (`tsx src/relay/main.ts`, its own process group, free loopback
 * port, DATA_DIR in a temp folder, LOG_LEVEL=warn); clients run in this process. Results go
 * to bench/results/soak.json. test/soak.integration.test.ts runs the same for ~20 s in CI.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { machine, percentile, round } from './lib/report'
import { RelayChild, THIS_CHECKOUT, sleep } from './lib/relay-child'
import { EXPECTED_CODES, SoakStats, type IntervalStats } from './lib/soak-stats'
import { DEFAULT_SCALE, Workload, type Scale } from './lib/soak-workload'

const RESULTS = fileURLToPath(new URL('./results/soak.json', import.meta.url))
/** RSS is sampled this often; the criterion compares medians of these samples. */
const SAMPLE_EVERY_MS = 5000
/** Memory is "flat" when the last third's median RSS is at most this much above the first third's. */
export const FLAT_RATIO = 0.10
export const FLAT_MIB = 20
/** The soak's clients all come from 127.0.0.1; the per-address connection cap must not refuse them. */
const SOAK_CONNECTIONS_PER_ADDRESS = '2000'

export interface SoakOptions {
  seconds: number
  relayDir?: string
  /** Length of a table row (default: 60 s, or 5 s for runs under 3 minutes). */
  intervalSeconds?: number
  scale?: Partial<Scale>
  /** Where rows go as they are measured (default console.log; null: silent). */
  log?: ((line: string) => void) | null
}

export interface SoakRow {
  at: string
  requests: number
  deliveries: number
  events: number
  errors: Record<string, number>
  p99Ms: number
  rssMiB: number | null
  heapUsedMiB: number | null
  /** Relay CPU over the interval, % of one core; and this client process's. */
  relayCpuPct: number | null
  clientCpuPct: number
  slowClosed: number
  slowLingering: number
  /** Chat messages received ÷ (acknowledged chat publishes × members per channel), %. */
  chatDeliveredPct: number
  /** Chat members that received no message during the interval (each channel had ~25 messages/s). */
  silentMembers: string[]
  calls: number
  callSetupP99Ms: number | null
  storms: IntervalStats['storms']
}

export interface MemoryVerdict {
  criterion: string
  warmupSeconds: number
  firstThirdMedianMiB: number
  lastThirdMedianMiB: number
  allowedMiB: number
  pass: boolean
}

export interface SoakResult {
  seconds: number
  relay: { dir: string; commit: string; pid: number }
  scale: Scale
  rows: SoakRow[]
  samples: { t: number; rssMiB: number }[]
  peakRssMiB: number
  memory: MemoryVerdict
  relayAlive: boolean
  relayExit: string | null
  errors: Record<string, number>
  unexpectedErrors: Record<string, number>
  loopFailures: string[]
}

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const log = options.log === undefined ? (line: string) => console.log(line) : options.log ?? (() => {})
  const scale: Scale = { ...DEFAULT_SCALE, ...options.scale }
  const intervalS = options.intervalSeconds ?? (options.seconds >= 180 ? 60 : 5)
  const relayDir = options.relayDir ?? THIS_CHECKOUT
  const relay = await RelayChild.start({ relayDir, logLevel: 'warn', env: { MAX_CONNECTIONS_PER_ADDRESS: SOAK_CONNECTIONS_PER_ADDRESS } })
  const stats = new SoakStats()
  const workload = new Workload(relay.url, scale, stats, Infinity)
  const rows: SoakRow[] = []
  const samples: { t: number; rssMiB: number }[] = []
  let sampler: NodeJS.Timeout | undefined
  try {
    await workload.setup()
    const started = performance.now()
    workload.endAt = started + options.seconds * 1000
    log(`soak: ${options.seconds} s against ${relayDir} (pid ${relay.pid}, ${relay.url}), rows every ${intervalS} s`)
    log(header())
    const sample = () => {
      const memory = relay.memory()
      if (memory) samples.push({ t: round((performance.now() - started) / 1000, 1), rssMiB: round(memory.rssMiB, 1) })
    }
    sample()
    sampler = setInterval(sample, SAMPLE_EVERY_MS)
    const cpu = cpuMeter(relay)
    const running = workload.run()
    for (let n = 1; n * intervalS <= options.seconds; n++) {
      await sleep(Math.max(0, started + n * intervalS * 1000 - performance.now()))
      rows.push(await row(relay, stats.roll(), label(n * intervalS, intervalS), cpu(), workload.chatHealth()))
      log(line(rows.at(-1)!))
    }
    await running
    const rest = stats.roll()
    if (rest.requests > 0 && options.seconds % intervalS !== 0) {
      rows.push(await row(relay, rest, label(options.seconds, intervalS), cpu(), workload.chatHealth()))
      log(line(rows.at(-1)!))
    }
  } finally {
    clearInterval(sampler)
    workload.close()
  }
  await sleep(500)
  const relayAlive = relay.alive && (await relay.health()) !== null
  const relayExit = relay.exit ? `exit ${relay.exit.code ?? relay.exit.signal}: ${relay.tail.slice(-600)}` : null
  const pid = relay.pid
  await relay.stop()

  const errors = Object.fromEntries(stats.totalErrors)
  const unexpectedErrors = Object.fromEntries(Object.entries(errors).filter(([code]) => !(code in EXPECTED_CODES)))
  const memory = memoryVerdict(samples, options.seconds)
  const result: SoakResult = {
    seconds: options.seconds, relay: { dir: relayDir, commit: commitOf(relayDir), pid }, scale, rows, samples,
    peakRssMiB: Math.max(0, ...samples.map((s) => s.rssMiB)), memory, relayAlive, relayExit, errors, unexpectedErrors,
    loopFailures: workload.failures,
  }
  log('')
  log(`memory criterion: ${memory.criterion}`)
  log(`  first third median ${memory.firstThirdMedianMiB} MiB, last third median ${memory.lastThirdMedianMiB} MiB, allowed ≤ ${memory.allowedMiB} MiB → ${memory.pass ? 'PASS' : 'FAIL'}`)
  log(`relay ${relayAlive ? 'alive at the end' : `NOT alive at the end (${relayExit})`}; peak sampled RSS ${result.peakRssMiB} MiB`)
  log(`errors: ${formatErrors(errors) || 'none'}${Object.keys(unexpectedErrors).length ? `; UNEXPECTED: ${formatErrors(unexpectedErrors)}` : ' (all expected: lock races)'}`)
  if (workload.failures.length) log(`loops that stopped early: ${workload.failures.join('; ')}`)
  return result
}

/** CPU of the relay and of this process since the previous reading, % of one core. */
function cpuMeter(relay: RelayChild): () => { relay: number | null; client: number } {
  const last = { relay: relay.cpuSeconds() ?? 0, client: clientCpuSeconds(), at: performance.now() }
  return () => {
    const now = performance.now()
    const relayS = relay.cpuSeconds()
    const clientS = clientCpuSeconds()
    const elapsedS = (now - last.at) / 1000
    const result = {
      relay: relayS === null ? null : round((100 * (relayS - last.relay)) / elapsedS, 0),
      client: round((100 * (clientS - last.client)) / elapsedS, 0),
    }
    Object.assign(last, { relay: relayS ?? 0, client: clientS, at: now })
    return result
  }
}

function clientCpuSeconds(): number {
  const usage = process.cpuUsage()
  return (usage.user + usage.system) / 1e6
}

async function row(relay: RelayChild, interval: IntervalStats, at: string, cpu: ReturnType<ReturnType<typeof cpuMeter>>, chat: { deliveredPct: number; silent: string[] }): Promise<SoakRow> {
  const health = await relay.health()
  const memory = relay.memory()
  return {
    at,
    requests: interval.requests,
    deliveries: interval.deliveries,
    events: interval.events,
    errors: Object.fromEntries(interval.errors),
    p99Ms: round(percentile(interval.latencies, 99), 1),
    rssMiB: memory ? round(memory.rssMiB, 1) : null,
    heapUsedMiB: health ? round(health.memory.heapUsed / 2 ** 20, 1) : null,
    relayCpuPct: cpu.relay,
    clientCpuPct: cpu.client,
    slowClosed: interval.slowClosed,
    slowLingering: interval.slowLingering,
    chatDeliveredPct: chat.deliveredPct,
    silentMembers: chat.silent,
    calls: interval.calls,
    callSetupP99Ms: interval.callSetupMs.length ? round(percentile(interval.callSetupMs, 99), 1) : null,
    storms: interval.storms.map((storm) => ({ ...storm, ms: round(storm.ms, 0) })),
  }
}

/**
 * "Flat": after the warm-up (the first minute, or the first quarter of a run under 3
 * minutes), the median RSS of the last third of the samples is within +10% (or +20 MiB,
 * whichever is larger) of the median of the first third.
 */
export function memoryVerdict(samples: { t: number; rssMiB: number }[], seconds: number): MemoryVerdict {
  const warmupSeconds = seconds >= 180 ? 60 : Math.round(seconds / 4)
  const third = (seconds - warmupSeconds) / 3
  const median = (values: number[]) => values.length ? percentile(values, 50) : NaN
  const first = median(samples.filter((s) => s.t >= warmupSeconds && s.t <= warmupSeconds + third).map((s) => s.rssMiB))
  const last = median(samples.filter((s) => s.t >= seconds - third).map((s) => s.rssMiB))
  const allowed = first + Math.max(first * FLAT_RATIO, FLAT_MIB)
  return {
    criterion: `flat — after a ${warmupSeconds} s warm-up, the median RSS of the last third of the run is at most the first third's median + max(${FLAT_RATIO * 100}%, ${FLAT_MIB} MiB) (RSS sampled every ${SAMPLE_EVERY_MS / 1000} s from /proc/<pid>/status)`,
    warmupSeconds, firstThirdMedianMiB: round(first, 1), lastThirdMedianMiB: round(last, 1), allowedMiB: round(allowed, 1),
    pass: Number.isFinite(first) && Number.isFinite(last) && last <= allowed,
  }
}

const COLUMNS = ['minute', 'requests', 'deliveries', 'chat %', 'silent', 'events', 'p99 ms', 'RSS MiB', 'heap MiB', 'CPU relay/client', 'slow closed', 'calls', 'storm', 'errors (by code)']
const WIDTHS = [7, 9, 11, 6, 6, 8, 7, 8, 9, 16, 12, 6, 14, 0]

function header(): string {
  const cells = COLUMNS.map((c, i) => (i === 0 ? c.padEnd(WIDTHS[i]) : c.padStart(WIDTHS[i])))
  return `${cells.join('  ')}\n${WIDTHS.map((w, i) => '-'.repeat(w || COLUMNS[i].length)).join('  ')}`
}

function line(r: SoakRow): string {
  const storm = r.storms.map((s) => `${s.resumed}/${s.size} ${s.ms}ms`).join(',') || '–'
  const cells = [r.at, r.requests, r.deliveries, r.chatDeliveredPct, r.silentMembers.length, r.events, r.p99Ms, r.rssMiB ?? 'dead', r.heapUsedMiB ?? '–', `${r.relayCpuPct ?? '–'}% / ${r.clientCpuPct}%`,
    `${r.slowClosed}${r.slowLingering ? ` (+${r.slowLingering} open)` : ''}`, r.calls, storm, formatErrors(r.errors) || 'none']
  return cells.map((c, i) => (i === 0 ? String(c).padEnd(WIDTHS[i]) : String(c).padStart(WIDTHS[i]))).join('  ')
}

function label(seconds: number, intervalS: number): string {
  return intervalS >= 60 ? String(round(seconds / 60, 1)) : `${seconds}s`
}

export function formatErrors(errors: Record<string, number>): string {
  return Object.entries(errors).sort((a, b) => b[1] - a[1]).map(([code, count]) => `${code}×${count}`).join(' ')
}

export function commitOf(dir: string): string {
  try {
    const head = execFileSync('git', ['-C', dir, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim()
    const dirty = execFileSync('git', ['-C', dir, 'status', '--porcelain', '--', 'src'], { encoding: 'utf8' }).trim()
    return dirty ? `${head} + uncommitted changes in src/` : head
  } catch {
    return 'unknown'
  }
}

function argument(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`)
  return at >= 0 ? process.argv[at + 1] : undefined
}

async function main(): Promise<void> {
  const seconds = argument('seconds') ? Number(argument('seconds')) : Number(argument('minutes') ?? 10) * 60
  if (!(seconds > 0)) {
    console.error('usage: npm run soak -- [--minutes N | --seconds N] [--relay-dir DIR]')
    process.exit(2)
  }
  const result = await runSoak({ seconds, relayDir: argument('relay-dir') })
  mkdirSync(fileURLToPath(new URL('./results', import.meta.url)), { recursive: true })
  writeFileSync(RESULTS, `${JSON.stringify({ ranAt: new Date().toISOString(), machine: machine(), ...result }, null, 2)}\n`)
  console.log(`results in ${RESULTS}`)
  const ok = result.memory.pass && result.relayAlive && Object.keys(result.unexpectedErrors).length === 0
  console.log(ok ? 'soak: PASS' : 'soak: FAIL')
  process.exit(ok ? 0 : 1)
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) void main()
