import { fork, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort } from './free-port'

export type ServerKind = 'floor' | 'relay' | 'easyrtc'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const PROBE = fileURLToPath(new URL('./probe.ts', import.meta.url))
const SCRIPTS: Record<ServerKind, string> = {
  floor: 'bench/servers/floor.ts',
  relay: 'src/relay/main.ts',
  easyrtc: 'bench/servers/easyrtc.ts',
}
export const SERVER_LABELS: Record<ServerKind, string> = {
  floor: 'floor (raw socket.io 4)',
  relay: 'ours (relay)',
  easyrtc: 'peer (open-easyrtc 2.1.8)',
}

/** A server under test, in its own process on a free loopback port. */
export class ServerProcess {
  readonly #child: ChildProcess
  readonly #replies = new Map<number, (value: unknown) => void>()
  #nextReq = 1
  #tail = ''

  private constructor(readonly kind: ServerKind, readonly url: string, child: ChildProcess, private readonly dataDir: string) {
    this.#child = child
    const keep = (chunk: Buffer) => { this.#tail = (this.#tail + chunk.toString()).slice(-4000) }
    child.stdout?.on('data', keep)
    child.stderr?.on('data', keep)
    child.on('message', (message: { probeReply?: number; value: unknown }) => {
      if (message?.probeReply === undefined) return
      this.#replies.get(message.probeReply)?.(message.value)
      this.#replies.delete(message.probeReply)
    })
  }

  static async start(kind: ServerKind): Promise<ServerProcess> {
    const port = await freePort()
    // A fresh, empty durable store per server: never the project's data/, never state from a previous round.
    const dataDir = mkdtempSync(join(tmpdir(), `bench-${kind}-data-`))
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', NODE_ENV: 'production', DATA_DIR: dataDir }
    delete env.TOKEN_SECRET // open mode: the bench logs in without tokens
    // The bench measures capacity: one loopback address holds every client and one publisher floods.
    Object.assign(env, { REQUEST_RATE: '1000000/1000000', PUBLISH_RATE: '1000000/1000000', MAX_CONNECTIONS_PER_ADDRESS: '0' })
    const child = fork(SCRIPTS[kind], [], {
      cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      execArgv: ['--expose-gc', '--import', 'tsx', '--import', PROBE],
    })
    const server = new ServerProcess(kind, `http://127.0.0.1:${port}`, child, dataDir)
    await server.#waitHealthy()
    return server
  }

  get pid(): number {
    return this.#child.pid ?? 0
  }

  async #waitHealthy(timeoutMs = 30_000): Promise<void> {
    const started = performance.now()
    while (performance.now() - started < timeoutMs) {
      if (this.#child.exitCode !== null) throw new Error(`${this.kind} server exited (${this.#child.exitCode}):\n${this.#tail}`)
      try {
        const response = await fetch(`${this.url}/healthz`)
        if (response.ok) return
      } catch {
        // not listening yet: poll again below
      }
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    throw new Error(`${this.kind} server did not answer /healthz within ${timeoutMs} ms:\n${this.#tail}`)
  }

  #probe<T>(probe: string, extra: object = {}): Promise<T> {
    const reqId = this.#nextReq++
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.kind} probe ${probe} timed out`)), 60_000)
      this.#replies.set(reqId, (value) => { clearTimeout(timer); resolve(value as T) })
      this.#child.send({ probe, reqId, ...extra })
    })
  }

  /** process.memoryUsage() of the server after two full GCs. */
  memory(): Promise<NodeJS.MemoryUsage> {
    return this.#probe('memory')
  }

  /** CPU time (user + system, ms) the server has used so far. */
  async cpuMs(): Promise<number> {
    const usage = await this.#probe<NodeJS.CpuUsage>('cpu')
    return (usage.user + usage.system) / 1000
  }

  startProfile(): Promise<boolean> {
    return this.#probe('profile-start')
  }

  stopProfile(path: string): Promise<boolean> {
    return this.#probe('profile-stop', { path })
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode === null) {
      const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()))
      this.#child.kill('SIGTERM')
      const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    }
    rmSync(this.dataDir, { recursive: true, force: true })
  }
}
