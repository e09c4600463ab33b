import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { get } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

/**
 * The relay "on another machine": `tsx src/relay/main.ts --lan` in a network namespace of its
 * own, joined to the test's namespace by a veth pair, so the browser reaches it at
 * https://10.99.1.2:8443/ and never on localhost. Needs CAP_NET_ADMIN in the test's
 * namespace: run inside scripts/netns-run (its v0/v1 use 10.99.0.0/24; this pair uses
 * 10.99.1.0/24 and names of its own).
 */

const CHECKOUT = fileURLToPath(new URL('../..', import.meta.url))
/** The test namespace's end of the pair, and the relay's end (moved into its namespace). */
const TEST_LINK = 'sk-lan0'
const RELAY_LINK = 'sk-lan1'
const TEST_ADDRESS = '10.99.1.1/24'
export const RELAY_ADDRESS = '10.99.1.2'
/** `--lan`'s default port. */
export const LAN_PORT = 8443
/** tsx compiles the relay and better-sqlite3 loads; on a loaded 2-core box this takes seconds. */
const START_TIMEOUT_MS = 30_000
/** SIGTERM first (the relay closes itself); SIGKILL for the group if it lingers. */
const STOP_GRACE_MS = 5_000
/** Between /readyz attempts, when the banner came before readiness. */
const READYZ_RETRY_MS = 100
/** Line the namespace's shell prints once it runs inside the new namespace. */
const NAMESPACE_READY = 'netns-ready'

const run = promisify(execFile)

/**
 * Runs in the child namespace: say it exists, wait for the go (a line on stdin, written once
 * the veth end is in), bring the link up, then become the relay. Bash, not sh (FACTS.md:
 * /bin/sh is dash here).
 */
const NAMESPACE_SCRIPT = `
set -e
echo ${NAMESPACE_READY}
read -r _
ip link set lo up
ip addr add ${RELAY_ADDRESS}/24 dev ${RELAY_LINK}
ip link set ${RELAY_LINK} up
exec node_modules/.bin/tsx src/relay/main.ts --lan </dev/null
`

/**
 * A running LAN relay. `stdout` is everything the current run printed (banner and logs);
 * `restart()` starts it again with the same DATA_DIR (and so the same certificate).
 */
export class LanRelay {
  readonly url = `https://${RELAY_ADDRESS}:${LAN_PORT}/`
  readonly dataDir: string
  #child: ChildProcess | null = null
  #stdout = ''
  #stderr = ''
  #closed: Promise<void> = Promise.resolve()
  #killOnExit = () => {}

  private constructor(dataDir: string) {
    this.dataDir = dataDir
  }

  /** Starts the relay in a fresh namespace with a fresh DATA_DIR; resolves once /readyz answers 200 over HTTPS. */
  static async start(): Promise<LanRelay> {
    const relay = new LanRelay(mkdtempSync(join(tmpdir(), 'lan-relay-data-')))
    try {
      await relay.#start()
    } catch (error) {
      await relay.stop()
      throw error
    }
    return relay
  }

  /** What the current run wrote to stdout so far. */
  get stdout(): string {
    return this.#stdout
  }

  /** stdout and stderr of the current run, and how it ended if it did: for a failing test's report. */
  get output(): string {
    const child = this.#child
    const ended = child && (child.exitCode !== null || child.signalCode !== null) ? `\n--- exited: ${child.exitCode ?? child.signalCode} ---` : ''
    return `${this.#output()}${ended}`
  }

  /** Stops the relay and starts it again in a new namespace, keeping DATA_DIR. */
  async restart(): Promise<void> {
    await this.#halt()
    await this.#start()
  }

  /** Stops the relay (its whole process group), removes the veth pair and DATA_DIR. Safe to call twice. */
  async stop(): Promise<void> {
    await this.#halt()
    rmSync(this.dataDir, { recursive: true, force: true })
  }

  async #start(): Promise<void> {
    this.#stdout = ''
    this.#stderr = ''
    const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: this.dataDir, LOG_LEVEL: 'info', NODE_ENV: 'production' }
    for (const name of ['PORT', 'HOST', 'HTTPS', 'TLS_CERT', 'TLS_KEY', 'BASE_PATH', 'TRUST_PROXY', 'TOKEN_SECRET', 'ALLOWED_ORIGINS']) delete env[name]
    // Its own process group (detached), so stop() reaches tsx and the node it starts.
    const child = spawn('unshare', ['-n', 'bash', '-c', NAMESPACE_SCRIPT], {
      cwd: CHECKOUT, env, detached: true, stdio: ['pipe', 'pipe', 'pipe'],
    })
    this.#child = child
    this.#closed = new Promise((resolve) => child.once('close', () => resolve()))
    // A spawn failure (no unshare) shows in the timeout's message instead of crashing the worker.
    child.once('error', (error) => { this.#stderr += `spawn failed: ${error.message}\n` })
    this.#killOnExit = () => signalGroup(child, 'SIGKILL')
    process.once('exit', this.#killOnExit)
    child.stdout!.setEncoding('utf8').on('data', (text: string) => { this.#stdout += text })
    child.stderr!.setEncoding('utf8').on('data', (text: string) => { this.#stderr += text })

    const deadline = performance.now() + START_TIMEOUT_MS
    await this.#until(() => this.#stdout.includes(`${NAMESPACE_READY}\n`), deadline, 'the namespace')
    await this.#link(child.pid!)
    child.stdin!.end('go\n')
    await this.#until(() => this.#stdout.includes(this.url), deadline, `${this.url} in the banner`)
    // The banner may come just before the relay is ready: ask again until it is.
    while (!(await readyz(this.url))) {
      this.#expectRunning(deadline, '/readyz to answer 200')
      await nextTurn(READYZ_RETRY_MS)
    }
  }

  /** The veth pair: our end with 10.99.1.1, the other moved into the namespace of `pid`. */
  async #link(pid: number): Promise<void> {
    await run('ip', ['link', 'add', TEST_LINK, 'type', 'veth', 'peer', 'name', RELAY_LINK, 'netns', String(pid)])
    await run('ip', ['addr', 'add', TEST_ADDRESS, 'dev', TEST_LINK])
    await run('ip', ['link', 'set', TEST_LINK, 'up'])
  }

  /** Waits for `condition` (checked on each output chunk), failing if the relay exits or the deadline passes. */
  async #until(condition: () => boolean, deadline: number, what: string): Promise<void> {
    const child = this.#child!
    while (!condition()) {
      this.#expectRunning(deadline, what)
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer)
          child.stdout!.off('data', done)
          child.off('exit', done)
          resolve()
        }
        const timer = setTimeout(done, deadline - performance.now())
        child.stdout!.on('data', done)
        child.once('exit', done)
      })
    }
  }

  #expectRunning(deadline: number, what: string): void {
    const child = this.#child!
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the LAN relay exited (${child.exitCode ?? child.signalCode}) before ${what}\n${this.#output()}`)
    if (performance.now() >= deadline) throw new Error(`timed out waiting for ${what}\n${this.#output()}`)
  }

  async #halt(): Promise<void> {
    const child = this.#child
    if (!child) return
    this.#child = null
    if (child.exitCode === null && child.signalCode === null) {
      signalGroup(child, 'SIGTERM')
      const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), STOP_GRACE_MS)
      // 'close': every process holding its stdout (tsx and the node it started) has gone.
      await this.#closed
      clearTimeout(timer)
    } else {
      await this.#closed
    }
    signalGroup(child, 'SIGKILL')
    process.off('exit', this.#killOnExit)
    // Deleting our end deletes both ends; the namespace may still be tearing down, so do not wait for it.
    await run('ip', ['link', 'del', TEST_LINK]).catch((error: { stderr?: string }) => {
      if (!/Cannot find device/.test(error.stderr ?? '')) throw error
    })
  }

  #output(): string {
    return `--- stdout ---\n${this.#stdout}\n--- stderr ---\n${this.#stderr}`
  }
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error // ESRCH: the group is already gone
  }
}

/** GET /readyz over HTTPS without checking the self-signed certificate: true on 200. */
function readyz(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const request = get(new URL('readyz', url), { rejectUnauthorized: false, agent: false, timeout: 2000 }, (response) => {
      response.resume()
      resolve(response.statusCode === 200)
    })
    request.on('timeout', () => request.destroy())
    request.on('error', () => resolve(false))
  })
}

function nextTurn(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
