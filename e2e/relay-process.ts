import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** The checkout: the relay runs from its src/relay/main.ts and serves its dist/. */
const CHECKOUT = fileURLToPath(new URL('..', import.meta.url))
const HEALTH_TIMEOUT_MS = 60_000

/**
 * `npm start`'s relay (`node --import tsx src/relay/main.ts`) as a child process in its own
 * process group, on a fixed port and DATA_DIR so that it can be killed (SIGKILL to the
 * group, as a crash or the OOM killer would) and started again on the same address with
 * the same store. Open mode; loopback only.
 */
/** Relay groups still running: killed when the test worker exits, so that a test timing out mid-restart leaves none behind. */
const running = new Set<number>()
process.once('exit', () => { for (const pid of running) signalGroup(pid, 'SIGKILL') })

export class RelayProcess {
  private constructor(private readonly child: ChildProcess, readonly url: string, readonly exited: Promise<void>, private readonly output: { text: string }) {}

  static async start(port: number, dataDir: string): Promise<RelayProcess> {
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'warn' }
    delete env.TOKEN_SECRET
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/relay/main.ts'], { cwd: CHECKOUT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    const output = { text: '' }
    for (const stream of [child.stdout!, child.stderr!]) stream.on('data', (chunk: Buffer) => { output.text = (output.text + chunk.toString()).slice(-4000) })
    running.add(child.pid!)
    const exited = new Promise<void>((resolve) => child.once('exit', () => { running.delete(child.pid!); resolve() }))
    const relay = new RelayProcess(child, `http://127.0.0.1:${port}`, exited, output)
    await relay.healthy()
    return relay
  }

  /** SIGKILL to the whole group: no drain, no goodbye to any client. Resolves once it is gone. */
  async kill(): Promise<void> {
    signalGroup(this.child.pid!, 'SIGKILL')
    await this.exited
  }

  /** SIGTERM (the relay drains), SIGKILL if it lingers. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    signalGroup(this.child.pid!, 'SIGTERM')
    const timer = setTimeout(() => signalGroup(this.child.pid!, 'SIGKILL'), 5000)
    await this.exited
    clearTimeout(timer)
  }

  private async healthy(): Promise<void> {
    const deadline = Date.now() + HEALTH_TIMEOUT_MS
    for (;;) {
      if (this.child.exitCode !== null) throw new Error(`the relay exited before answering /healthz:\n${this.output.text}`)
      const ok = await fetch(`${this.url}/healthz`, { signal: AbortSignal.timeout(1000) }).then((response) => response.ok, () => false)
      if (ok) return
      if (Date.now() > deadline) throw new Error(`the relay did not answer /healthz within ${HEALTH_TIMEOUT_MS} ms:\n${this.output.text}`)
      await new Promise((resolve) => setTimeout(resolve, 50)) // polling a condition: is it up yet
    }
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal)
  } catch {
    // the group is already gone
  }
}
