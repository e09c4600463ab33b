import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** How long a child relay may take to answer /healthz after spawning (tsx compiles on start). */
const START_TIMEOUT_MS = 30_000
/** Log lines of the child kept for failure messages. */
const KEPT_LOG_LINES = 60

export interface Health {
  status: string
  sessions: number
  connections: number
  memory: { rss: number; heapUsed: number; heapTotal: number; external: number; arrayBuffers: number }
}

export interface ChildExit { code: number | null; signal: NodeJS.Signals | null }

/**
 * The relay as its own process (test/fuzz/relay-child.ts → src/relay/main.ts), so that an
 * unhandled rejection really ends it and the test sees the exit. It runs in a process
 * group of its own (`detached`): `stop` kills the group, leaving no node child behind.
 */
export class RelayProcess {
  readonly url: string
  readonly wsUrl: string
  /** Resolves when the process ends, for whatever reason. */
  readonly exited: Promise<ChildExit>
  exit: ChildExit | null = null
  /** The child's log lines (pino JSON on stdout, anything on stderr), newest last. */
  readonly log: string[] = []
  /** Log lines by pino level (40 warn, 50 error, 60 fatal) and the messages of levels ≥ 50. */
  readonly levels = new Map<number, number>()
  readonly errors: string[] = []
  private gcCount = 0
  private gcWaiters: (() => void)[] = []
  private stopping = false

  private constructor(private readonly child: ChildProcess, readonly port: number, private readonly dataDir: string) {
    this.url = `http://127.0.0.1:${port}`
    this.wsUrl = `ws://127.0.0.1:${port}`
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exit = { code, signal }
        resolve(this.exit)
      })
    })
    this.readLines(child.stdout!)
    this.readLines(child.stderr!)
  }

  /** Starts `npm start`'s relay (without the page build) on a free loopback port with its own DATA_DIR. */
  static async start(env: Record<string, string> = {}): Promise<RelayProcess> {
    const port = await freePort()
    const dataDir = mkdtempSync(join(tmpdir(), 'fuzz-relay-'))
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', fileURLToPath(new URL('./relay-child.ts', import.meta.url))], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    })
    const relay = new RelayProcess(child, port, dataDir)
    const deadline = Date.now() + START_TIMEOUT_MS
    for (;;) {
      if (relay.exit) throw new Error(`the relay exited on start (${describeExit(relay.exit)}):\n${relay.tail()}`)
      if (await relay.health().then(() => true, () => false)) return relay
      if (Date.now() > deadline) {
        await relay.stop()
        throw new Error(`the relay did not answer /healthz within ${START_TIMEOUT_MS} ms:\n${relay.tail()}`)
      }
      await Promise.race([new Promise((resolve) => setTimeout(resolve, 50)), relay.exited])
    }
  }

  get alive(): boolean {
    return this.exit === null
  }

  async health(): Promise<Health> {
    const response = await fetch(`${this.url}/healthz`)
    if (!response.ok) throw new Error(`/healthz answered ${response.status}`)
    return await response.json() as Health
  }

  /** Runs a full collection in the relay (two passes) and returns /healthz afterwards. */
  async collectedHealth(): Promise<Health> {
    const target = this.gcCount + 1
    const done = new Promise<void>((resolve) => this.gcWaiters.push(resolve))
    this.child.kill('SIGUSR2')
    await this.orDeath(done, 10_000, 'the relay did not report its garbage collection')
    if (this.gcCount < target) throw new Error('garbage collection not confirmed')
    return this.health()
  }

  /** Rejects as soon as the relay exits (or after `timeoutMs`), else resolves with `promise`. */
  async orDeath<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined
    try {
      return await Promise.race([
        promise,
        this.exited.then((exit) => { throw new Error(`the relay died (${describeExit(exit)}) while waiting: ${what}\n${this.tail()}`) }),
        new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms: ${what}`)), timeoutMs) }),
      ])
    } finally {
      clearTimeout(timer)
    }
  }

  /** The last log lines, for failure messages. */
  tail(lines = 20): string {
    return this.log.slice(-lines).map((line) => line.slice(0, 400)).join('\n')
  }

  /** SIGTERM to the group (the relay closes itself), SIGKILL if it lingers; removes DATA_DIR. */
  async stop(): Promise<void> {
    if (this.stopping) return
    this.stopping = true
    if (this.alive && this.child.pid) {
      killGroup(this.child.pid, 'SIGTERM')
      const stopped = await Promise.race([this.exited.then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), 5000))])
      if (!stopped) killGroup(this.child.pid, 'SIGKILL')
      await this.exited
    } else if (this.child.pid) {
      killGroup(this.child.pid, 'SIGKILL') // the group may outlive its leader
    }
    rmSync(this.dataDir, { recursive: true, force: true })
  }

  private readLines(stream: NodeJS.ReadableStream): void {
    let rest = ''
    stream.setEncoding('utf8')
    stream.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n')
      rest = lines.pop() ?? ''
      for (const line of lines) this.onLine(line)
    })
  }

  private onLine(line: string): void {
    if (line.startsWith('gc-done ')) {
      this.gcCount = Number(line.slice('gc-done '.length))
      for (const wake of this.gcWaiters.splice(0)) wake()
      return
    }
    if (line === '') return
    this.log.push(line)
    if (this.log.length > KEPT_LOG_LINES) this.log.shift()
    const level = line.startsWith('{') ? Number(/"level":(\d+)/.exec(line)?.[1] ?? 0) : 0
    this.levels.set(level, (this.levels.get(level) ?? 0) + 1)
    if (level >= 50 || (level === 0 && /Error|Unhandled|Uncaught/.test(line))) this.errors.push(line.slice(0, 600))
  }
}

export function describeExit(exit: ChildExit): string {
  return exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal)
  } catch {
    // The group is gone already.
  }
}

/** A free loopback port: bound to 0 and released (the relay binds it right after). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

/**
 * One relay configuration shared by several tests: started on first use, started again
 * if a test killed it (today's relay dies on the audit's frames), stopped at the end.
 */
export class RelaySlot {
  readonly deaths: string[] = []
  private current: RelayProcess | null = null
  private starting: Promise<RelayProcess> | null = null

  constructor(private readonly env: Record<string, string> = {}) {}

  async get(): Promise<RelayProcess> {
    if (this.current?.alive) {
      if (await this.current.health().then(() => true, () => false)) return this.current
      // Not answering: it is probably exiting (a crash a previous test caused); wait for that, then replace it.
      await Promise.race([this.current.exited, new Promise((resolve) => setTimeout(resolve, 5000))])
      if (this.current.alive) await this.current.stop()
    }
    if (this.current?.exit) {
      this.deaths.push(describeExit(this.current.exit))
      await this.current.stop()
      this.current = null
    }
    this.starting ??= RelayProcess.start(this.env).then((relay) => {
      this.current = relay
      this.starting = null
      return relay
    }, (error: unknown) => {
      this.starting = null
      throw error
    })
    return this.starting
  }

  async stop(): Promise<void> {
    await this.starting?.catch(() => undefined)
    await this.current?.stop()
    this.current = null
  }
}
