// `npm run cluster -- N` (N = 1–9 relays, default 3): scaled mode on this machine, for a demo.
// It starts Debian's redis-server (appendonly, appendfsync always) with its data in a temp
// folder that is removed on stop (the demo keeps nothing between runs), N relay processes
// (`node --import tsx src/relay/main.ts`, named relay1…relayN, each on a free loopback port,
// serving the built page from STATIC_DIR or dist/) and HAProxy on PORT (default 8080) in
// front, round robin. Each relay's output is prefixed with its name; LOG_LEVEL, BASE_PATH,
// REDIS_PREFIX and the relay's other variables pass through. Kill one relay (its pid is in
// the banner) to watch its clients resume on another. Ctrl-C or SIGTERM stops everything in
// order: the relays drain (SIGTERM), then the balancer, then Redis.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'
import {
  freePort, HAPROXY_BINARY, REDIS_BINARY, startBalancer, startRedis, stopChild, type Balancer, type RedisProcess,
} from '../src/relay/cluster/local-processes'

const MAX_RELAYS = 9
const DEFAULT_RELAYS = 3
const DEFAULT_PORT = 8080
/** A relay answers /readyz within a second or two; a loaded 2-core box may take longer. */
const RELAY_START_TIMEOUT_MS = 30_000
/** A relay drains within its DRAIN_TIMEOUT_MS (10 s by default); past this it is killed. */
const RELAY_STOP_TIMEOUT_MS = 20_000
/** Set in the process that does the work (see `launch`). */
const INNER = 'SIGNAL_KIT_CLUSTER_INNER'

const root = fileURLToPath(new URL('..', import.meta.url))

interface RelayProcess { name: string; port: number; child: ChildProcess }

if (process.env[INNER]) await run()
else launch()

/**
 * Ctrl-C reaches the terminal's whole process group, which would stop Redis and HAProxy at
 * once, under relays that are still draining. So the work runs in a process group of its
 * own, and this process turns Ctrl-C and SIGTERM into one SIGTERM for it.
 */
function launch(): void {
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    detached: true, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, [INNER]: '1' },
  })
  let signalled = false
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      // npm forwards the terminal's SIGINT too: one stop is enough, and it is bounded.
      if (!signalled) child.kill('SIGTERM')
      signalled = true
    })
  }
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
}

async function run(): Promise<void> {
  const count = relayCount(process.argv[2])
  if (!existsSync(REDIS_BINARY) || !existsSync(HAPROXY_BINARY)) {
    fail(`needs ${REDIS_BINARY} and ${HAPROXY_BINARY}: apt-get install redis-server haproxy`)
  }
  const staticDir = process.env.STATIC_DIR || `${root}dist`
  if (!existsSync(`${staticDir}/index.html`)) fail(`no built page in ${staticDir}: run npm run build (npm run cluster builds it first)`)
  const port = process.env.PORT ? Number(process.env.PORT) : DEFAULT_PORT
  if (!Number.isInteger(port) || port <= 0 || port > 65535) fail(`PORT must be a port number, not "${process.env.PORT}"`)
  const basePath = process.env.BASE_PATH?.replace(/\/+$/, '') ?? ''

  let redis: RedisProcess | undefined
  let balancer: Balancer | undefined
  const relays: RelayProcess[] = []
  let stopRequested = false
  const starting = (async () => {
    redis = await startRedis()
    for (let index = 1; index <= count && !stopRequested; index++) relays.push(startRelayProcess(`relay${index}`, await freePort(), redis.url))
    await Promise.all(relays.map((relay) => untilReady(relay, basePath, () => stopRequested)))
    if (!stopRequested) balancer = await startBalancer(relays.map(({ name, port }) => ({ name, port })), { port, basePath })
  })()
  let stopping: Promise<void> | undefined
  const stop = (code: number) => {
    stopRequested = true
    stopping ??= (async () => {
      await starting.catch(() => undefined) // bounded: each step gives up within its timeout
      say('stopping: relays drain, then the balancer, then Redis')
      await Promise.all(relays.map((relay) => stopChild(relay.child, 'SIGTERM', RELAY_STOP_TIMEOUT_MS)))
      await balancer?.stop()
      await redis?.destroy()
      say('stopped')
      process.exit(code)
    })()
  }
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => stop(0))
  process.on('disconnect', () => stop(0)) // the launching process is gone

  try {
    await starting
  } catch (error) {
    say(`could not start: ${(error instanceof Error ? error.message : String(error)).split('\n')[0]}`)
    return stop(1)
  }
  if (stopRequested || !balancer || !redis) return
  for (const relay of relays) {
    relay.child.on('exit', (code, signal) => {
      if (!stopRequested) say(`${relay.name} exited (${signal ?? `code ${code}`}); its clients reconnect through the balancer to the others`)
    })
  }
  process.stdout.write(banner(balancer, redis, relays))
}

function relayCount(arg: string | undefined): number {
  if (arg === undefined) return DEFAULT_RELAYS
  const count = Number(arg)
  if (!Number.isInteger(count) || count < 1 || count > MAX_RELAYS) fail(`the number of relays must be 1–${MAX_RELAYS}, not "${arg}"`)
  return count
}

function startRelayProcess(name: string, port: number, redisUrl: string): RelayProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/relay/main.ts'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      PORT: String(port), HOST: '127.0.0.1', REDIS_URL: redisUrl, RELAY_NAME: name,
      // Every client arrives from HAProxy on loopback: trust its X-Forwarded-For, so the
      // per-address limits count browsers, not the balancer.
      TRUST_PROXY: process.env.TRUST_PROXY ?? 'loopback',
    },
  })
  for (const stream of [child.stdout, child.stderr]) {
    if (stream) createInterface({ input: stream }).on('line', (line) => process.stdout.write(`[${name}] ${line}\n`))
  }
  return { name, port, child }
}

async function untilReady(relay: RelayProcess, basePath: string, cancelled: () => boolean): Promise<void> {
  const deadline = Date.now() + RELAY_START_TIMEOUT_MS
  while (!cancelled()) {
    if (relay.child.exitCode !== null) throw new Error(`${relay.name} exited (code ${relay.child.exitCode}) before it was ready`)
    const ready = await fetch(`http://127.0.0.1:${relay.port}${basePath}/readyz`).then((response) => response.ok, () => false)
    if (ready) return
    if (Date.now() > deadline) throw new Error(`${relay.name} did not answer /readyz within ${RELAY_START_TIMEOUT_MS} ms`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

function banner(balancer: Balancer, redis: RedisProcess, relays: RelayProcess[]): string {
  const width = Math.max(...relays.map((relay) => relay.name.length), 'haproxy'.length)
  const row = (label: string, text: string) => `  ${label.padEnd(width)}  ${text}\n`
  return '\nsignal-kit cluster: scaled mode on this machine\n\n' +
    row('open', `${balancer.url}/   (the header says which relay serves the page and which owns its app)`) +
    row('haproxy', `${balancer.url}, round robin over ${relays.length} relay${relays.length > 1 ? 's' : ''}, /readyz checked every 500 ms (pid ${balancer.child.pid})`) +
    relays.map((relay) => row(relay.name, `http://127.0.0.1:${relay.port} (pid ${relay.child.pid})`)).join('') +
    row('redis', `${redis.url}, appendfsync always, data in ${redis.dir} (removed on stop) (pid ${redis.child.pid})`) +
    `\n  ${balancer.url}/healthz names the relay that answered. Kill a relay to watch its clients move; Ctrl-C stops everything.\n\n`
}

function say(line: string): void {
  process.stdout.write(`[cluster] ${line}\n`)
}

function fail(line: string): never {
  process.stderr.write(`npm run cluster: ${line}\n`)
  process.exit(1)
}
