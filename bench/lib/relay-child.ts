import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort } from './free-port'

/** The checkout this file belongs to: the default relay source for soak, attacks and the fuzz tests. */
export const THIS_CHECKOUT = fileURLToPath(new URL('../..', import.meta.url))
/** Starts the relay with a SIGUSR2 → full garbage collection hook (see that file). */
const GC_HOOK_LAUNCHER = fileURLToPath(new URL('./relay-gc-hook.ts', import.meta.url))
/** Line the gc hook writes after each collection; consumed here, never counted as log output. */
const GC_DONE_PREFIX = 'gc-done '
/** How long a collection may take before `collectedHealth` gives up. */
const GC_TIMEOUT_MS = 10_000
/** Output kept for the report when the relay dies (its last words). */
const TAIL_CHARS = 8000
/** A line of `lastLines` is cut here: one pino line can carry a whole fuzzed frame. */
const LAST_LINE_CHARS = 400
/** An error line is kept up to here, enough for a message and a stack frame. */
const ERROR_LINE_CHARS = 600
/** pino's numeric `error` level; lines at or above it are collected in `errors`. */
const PINO_ERROR_LEVEL = 50
/** SIGTERM first; a relay that has not exited this long after gets SIGKILL. */
const STOP_GRACE_MS = 3000
/** USER_HZ of /proc/<pid>/stat on Linux. */
const CLOCK_TICKS_PER_SECOND = 100

export interface RelayChildOptions {
  /** Source folder holding src/relay/main.ts and node_modules (a git worktree of another commit works). */
  relayDir?: string
  /** TOKEN_SECRET of the relay; without it the relay runs in open mode even if this process has one. */
  tokenSecret?: string
  logLevel?: string
  /** Extra environment (e.g. MAX_CONNECTIONS_PER_ADDRESS). */
  env?: Record<string, string>
  healthTimeoutMs?: number
  /** Run with --expose-gc behind the SIGUSR2 hook, so `collectedHealth` measures memory after a full collection. */
  gcHook?: boolean
}

/** /healthz of the relay. */
export interface Health {
  status: string
  sessions: number
  connections: number
  memory: NodeJS.MemoryUsage
}

export interface ExitInfo { code: number | null; signal: NodeJS.Signals | null; atMs: number }

const running = new Set<RelayChild>()

/**
 * `src/relay/main.ts` of `relayDir` as a child in its own session (setsid): a free
 * loopback port, DATA_DIR in a fresh temp folder, stopped by killing its process group
 * (FACTS.md: killing the npx/tsx pid alone leaves the node child alive). Node runs the
 * relay itself (`node --import tsx`), so `pid` is the process whose memory is measured,
 * and an unhandled rejection really ends it, so a caller sees the exit.
 */
export class RelayChild {
  readonly #child: ChildProcess
  readonly #gcHook: boolean
  #tail = ''
  #gcCount = 0
  #gcWaiters: (() => void)[] = []
  #stopped: Promise<void> | null = null
  readonly url: string
  readonly wsUrl: string
  /** Bytes the relay wrote to stdout and stderr (its logs). */
  logBytes = 0
  /** Log lines by pino level (40 warn, 50 error, 60 fatal; 0 for lines that are not pino JSON). */
  readonly levels = new Map<number, number>()
  /** Lines at error level or above, and plain lines that look like a crash, in order. */
  readonly errors: string[] = []
  exit: ExitInfo | null = null
  /** Resolves when the process ends, for whatever reason. */
  readonly exited: Promise<ExitInfo>

  private constructor(child: ChildProcess, readonly port: number, private readonly dataDir: string, gcHook: boolean) {
    this.#child = child
    this.#gcHook = gcHook
    this.url = `http://127.0.0.1:${port}`
    this.wsUrl = `ws://127.0.0.1:${port}`
    this.#readLines(child.stdout!)
    this.#readLines(child.stderr!)
    this.exited = new Promise((resolveExit) => child.once('exit', (code, signal) => {
      this.exit = { code, signal, atMs: performance.now() }
      running.delete(this)
      resolveExit(this.exit)
    }))
  }

  static async start(options: RelayChildOptions = {}): Promise<RelayChild> {
    const relayDir = resolve(options.relayDir ?? THIS_CHECKOUT)
    const port = await freePort()
    const dataDir = mkdtempSync(join(tmpdir(), 'relay-child-data-'))
    const env: NodeJS.ProcessEnv = {
      ...process.env, ...options.env,
      PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: options.logLevel ?? 'warn', NODE_ENV: 'production',
    }
    if (options.tokenSecret) env.TOKEN_SECRET = options.tokenSecret
    else delete env.TOKEN_SECRET
    const gcHook = options.gcHook ?? false
    const args = gcHook ? ['--expose-gc', '--import', 'tsx', GC_HOOK_LAUNCHER] : ['--import', 'tsx', 'src/relay/main.ts']
    const child = spawn(process.execPath, args, { cwd: relayDir, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    const relay = new RelayChild(child, port, dataDir, gcHook)
    running.add(relay)
    try {
      await relay.#waitHealthy(options.healthTimeoutMs ?? 30_000)
    } catch (error) {
      await relay.stop()
      throw error
    }
    return relay
  }

  get pid(): number {
    return this.#child.pid ?? 0
  }

  get alive(): boolean {
    return this.exit === null
  }

  /** The relay's last output (stack traces of a crash end up here). */
  get tail(): string {
    return this.#tail
  }

  /** The last `count` lines of output, each cut short, for a failure message. */
  lastLines(count = 20): string {
    return this.#tail.split('\n').filter(Boolean).slice(-count).map((line) => line.slice(0, LAST_LINE_CHARS)).join('\n')
  }

  async #waitHealthy(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs
    while (performance.now() < deadline) {
      if (!this.alive) throw new Error(`relay exited (${describeExit(this.exit!)}) before answering /healthz:\n${this.#tail}`)
      if (await this.health(1000)) return
      await sleep(100)
    }
    throw new Error(`relay did not answer /healthz within ${timeoutMs} ms:\n${this.#tail}`)
  }

  /** /healthz, or null when it does not answer within `timeoutMs` (dead or stalled). */
  async health(timeoutMs = 2000): Promise<Health | null> {
    try {
      const response = await fetch(`${this.url}/healthz`, { signal: AbortSignal.timeout(timeoutMs) })
      return response.ok ? await response.json() as Health : null
    } catch {
      return null
    }
  }

  /** Runs a full collection in the relay (two passes) and returns /healthz afterwards; needs `gcHook`. */
  async collectedHealth(): Promise<Health> {
    if (!this.#gcHook) throw new Error('collectedHealth needs a relay started with gcHook')
    const target = this.#gcCount + 1
    const done = new Promise<void>((resolveGc) => this.#gcWaiters.push(resolveGc))
    this.#child.kill('SIGUSR2')
    await this.orDeath(done, GC_TIMEOUT_MS, 'the relay did not report its garbage collection')
    if (this.#gcCount < target) throw new Error('garbage collection not confirmed')
    const health = await this.health()
    if (!health) throw new Error(`/healthz did not answer after the collection:\n${this.lastLines()}`)
    return health
  }

  /** Rejects as soon as the relay exits (or after `timeoutMs`), else resolves with `promise`. */
  async orDeath<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
    const died = this.exited.then((exit): never => { throw new Error(`the relay died (${describeExit(exit)}) while waiting: ${what}\n${this.lastLines()}`) })
    return withTimeout(Promise.race([promise, died]), timeoutMs, what)
  }

  /** Resident set now and its high-water mark, MiB, from /proc (works while the event loop is blocked). */
  memory(): { rssMiB: number; hwmMiB: number } | null {
    if (!this.alive) return null
    try {
      const status = readFileSync(`/proc/${this.pid}/status`, 'utf8')
      const kib = (field: string) => Number(/\s(\d+) kB/.exec(status.split('\n').find((line) => line.startsWith(field)) ?? '')?.[1] ?? NaN)
      return { rssMiB: kib('VmRSS:') / 1024, hwmMiB: kib('VmHWM:') / 1024 }
    } catch {
      return null
    }
  }

  /** Bytes of the relay's durable store (every file in its DATA_DIR: SQLite database and WAL). */
  storeBytes(): number {
    try {
      return readdirSync(this.dataDir).reduce((sum, name) => sum + statSync(join(this.dataDir, name)).size, 0)
    } catch {
      return NaN
    }
  }

  /** CPU time (user + system, s) the relay has used so far, from /proc/<pid>/stat. */
  cpuSeconds(): number | null {
    if (!this.alive) return null
    try {
      const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND
    } catch {
      return null
    }
  }

  /** Samples VmRSS every `everyMs` until stopped; `peakMiB` also counts VmHWM at each sample. */
  sampleMemory(everyMs = 100): { peakMiB: number; stop(): number } {
    const sampler = { peakMiB: 0, stop: () => 0 }
    const take = () => {
      const memory = this.memory()
      // A zombie's status has no VmRSS (NaN): keep the last real reading.
      if (memory) sampler.peakMiB = Math.max(sampler.peakMiB, ...[memory.rssMiB, memory.hwmMiB].filter(Number.isFinite))
    }
    take()
    const timer = setInterval(take, everyMs)
    sampler.stop = () => {
      take()
      clearInterval(timer)
      return sampler.peakMiB
    }
    return sampler
  }

  /** SIGTERM to the group (the relay closes itself), SIGKILL if it lingers; removes DATA_DIR. Safe to call twice. */
  stop(): Promise<void> {
    this.#stopped ??= this.#stop()
    return this.#stopped
  }

  async #stop(): Promise<void> {
    if (this.alive) {
      signalGroup(this.pid, 'SIGTERM')
      const timer = setTimeout(() => signalGroup(this.pid, 'SIGKILL'), STOP_GRACE_MS)
      await this.exited
      clearTimeout(timer)
    }
    // The tsx loader may leave helpers in the group; nothing of it outlives the relay.
    signalGroup(this.pid, 'SIGKILL')
    rmSync(this.dataDir, { recursive: true, force: true })
  }

  #readLines(stream: NodeJS.ReadableStream): void {
    let rest = ''
    stream.setEncoding('utf8')
    stream.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n')
      rest = lines.pop() ?? ''
      this.#onLines(lines)
    })
    // A crash's last words may lack a newline.
    stream.on('end', () => { if (rest) this.#onLines([rest]) })
  }

  #onLines(lines: string[]): void {
    const kept = lines.filter((line) => !this.#isGcDone(line))
    // One append per chunk, not per line: a log flood writes thousands of lines a second.
    const text = kept.map((line) => `${line}\n`).join('')
    this.logBytes += Buffer.byteLength(text)
    this.#tail = (this.#tail + text).slice(-TAIL_CHARS)
    for (const line of kept) {
      if (line === '') continue
      const level = line.startsWith('{') ? Number(/"level":(\d+)/.exec(line)?.[1] ?? 0) : 0
      this.levels.set(level, (this.levels.get(level) ?? 0) + 1)
      if (level >= PINO_ERROR_LEVEL || (level === 0 && /Error|Unhandled|Uncaught/.test(line))) this.errors.push(line.slice(0, ERROR_LINE_CHARS))
    }
  }

  /** Consumes the gc hook's `gc-done <n>` line, waking `collectedHealth`. */
  #isGcDone(line: string): boolean {
    if (!this.#gcHook || !line.startsWith(GC_DONE_PREFIX)) return false
    this.#gcCount = Number(line.slice(GC_DONE_PREFIX.length))
    for (const wake of this.#gcWaiters.splice(0)) wake()
    return true
  }
}

export function describeExit(exit: { code: number | null; signal: NodeJS.Signals | null }): string {
  return exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal)
  } catch {
    // the group is already gone
  }
}

/** No relay outlives the script that started it, however the script ends. */
function killAll(): void {
  for (const relay of running) signalGroup(relay.pid, 'SIGKILL')
}
process.once('exit', killAll)
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAll()
    process.exit(130)
  })
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolveSleep) => setTimeout(resolveSleep, ms))
}

/** `promise`, or a rejection after `timeoutMs` naming what did not happen. */
export function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms: ${what}`)), timeoutMs) }),
  ]).finally(() => clearTimeout(timer))
}
