import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The checkout this file belongs to: the default relay source for soak and attacks. */
export const THIS_CHECKOUT = fileURLToPath(new URL('../..', import.meta.url))
/** Output kept for the report when the relay dies (its last words). */
const TAIL_CHARS = 8000
/** SIGTERM first; a relay that has not exited this long after gets SIGKILL. */
const STOP_GRACE_MS = 3000
/** USER_HZ of /proc/<pid>/stat on Linux. */
const CLOCK_TICKS_PER_SECOND = 100

export interface RelayChildOptions {
  /** Source folder holding src/relay/main.ts and node_modules (a git worktree of another commit works). */
  relayDir?: string
  tokenSecret?: string
  logLevel?: string
  /** Extra environment (e.g. MAX_CONNECTIONS_PER_ADDRESS). */
  env?: Record<string, string>
  healthTimeoutMs?: number
}

export interface ExitInfo { code: number | null; signal: NodeJS.Signals | null; atMs: number }

const running = new Set<RelayChild>()

/**
 * `tsx src/relay/main.ts` of `relayDir` as a child in its own session (setsid): a free
 * loopback port, DATA_DIR in a fresh temp folder, stopped by killing its process group
 * (FACTS.md: killing the npx/tsx pid alone leaves the node child alive). Node runs the
 * relay itself (`node --import tsx`), so `pid` is the process whose memory is measured.
 */
export class RelayChild {
  readonly #child: ChildProcess
  #tail = ''
  /** Bytes the relay wrote to stdout and stderr (its logs). */
  logBytes = 0
  exit: ExitInfo | null = null
  readonly exited: Promise<ExitInfo>

  private constructor(child: ChildProcess, readonly url: string, readonly port: number, private readonly dataDir: string) {
    this.#child = child
    const keep = (chunk: Buffer) => {
      this.logBytes += chunk.length
      this.#tail = (this.#tail + chunk.toString()).slice(-TAIL_CHARS)
    }
    child.stdout?.on('data', keep)
    child.stderr?.on('data', keep)
    this.exited = new Promise((resolveExit) => child.once('exit', (code, signal) => {
      this.exit = { code, signal, atMs: performance.now() }
      running.delete(this)
      resolveExit(this.exit)
    }))
  }

  static async start(options: RelayChildOptions = {}): Promise<RelayChild> {
    const relayDir = resolve(options.relayDir ?? THIS_CHECKOUT)
    const port = await freePort()
    const dataDir = mkdtempSync(join(tmpdir(), 'relay-soak-data-'))
    const env: NodeJS.ProcessEnv = {
      ...process.env, ...options.env,
      PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: options.logLevel ?? 'warn', NODE_ENV: 'production',
    }
    if (options.tokenSecret) env.TOKEN_SECRET = options.tokenSecret
    else delete env.TOKEN_SECRET
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/relay/main.ts'], {
      cwd: relayDir, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
    })
    const relay = new RelayChild(child, `http://127.0.0.1:${port}`, port, dataDir)
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

  async #waitHealthy(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs
    while (performance.now() < deadline) {
      if (!this.alive) throw new Error(`relay exited (${this.exit?.code ?? this.exit?.signal}) before answering /healthz:\n${this.#tail}`)
      if (await this.health(1000)) return
      await sleep(100)
    }
    throw new Error(`relay did not answer /healthz within ${timeoutMs} ms:\n${this.#tail}`)
  }

  /** /healthz, or null when it does not answer within `timeoutMs` (dead or stalled). */
  async health(timeoutMs = 2000): Promise<{ memory: NodeJS.MemoryUsage; connections: number; sessions: number } | null> {
    try {
      const response = await fetch(`${this.url}/healthz`, { signal: AbortSignal.timeout(timeoutMs) })
      return response.ok ? await response.json() as never : null
    } catch {
      return null
    }
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

  async stop(): Promise<void> {
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

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address()
      const port = typeof address === 'object' && address ? address.port : 0
      probe.close(() => resolvePort(port))
    })
  })
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolveSleep) => setTimeout(resolveSleep, ms))
}
