import { spawn, type ChildProcess } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * A real coturn (Debian's `turnserver` 4.6.1) for one test or bench run: started in the
 * foreground from a temp config with the REST-API secret scheme (`use-auth-secret`), on one
 * address of the test's network namespace, UDP only, never as a system service, stopped
 * with its whole process group. CI installs the `coturn` package (.ci/run).
 */

export const TURNSERVER = process.env.TURNSERVER_PATH ?? '/usr/bin/turnserver'
/** coturn reads its config and opens its relay ports in well under a second; a loaded CI box gets more. */
const START_TIMEOUT_MS = 15_000
/** Between STUN binding probes while it starts. */
const PROBE_EVERY_MS = 50
const STOP_GRACE_MS = 3_000

export interface CoturnOptions {
  /** The address it listens and relays on (an address of the test's namespace, e.g. 10.99.0.1). */
  address: string
  /** coturn's `static-auth-secret`: the relay's TURN_SECRET. */
  secret: string
}

export class Coturn {
  readonly #dir: string
  readonly #child: ChildProcess
  readonly #closed: Promise<void>
  #output = ''
  readonly #killOnExit = () => this.#signal('SIGKILL')

  private constructor(readonly address: string, readonly port: number, dir: string, child: ChildProcess) {
    this.#dir = dir
    this.#child = child
    this.#closed = new Promise((resolve) => child.once('close', () => resolve()))
    child.stdout!.setEncoding('utf8').on('data', (text: string) => { this.#output = (this.#output + text).slice(-20_000) })
    child.stderr!.setEncoding('utf8').on('data', (text: string) => { this.#output = (this.#output + text).slice(-20_000) })
    child.once('error', (error) => { this.#output += `spawn failed: ${error.message}\n` })
    process.once('exit', this.#killOnExit)
  }

  static available(): boolean {
    return existsSync(TURNSERVER)
  }

  /** Starts coturn on a free UDP port of `address`; resolves once it answers a STUN binding request. */
  static async start(options: CoturnOptions): Promise<Coturn> {
    const dir = mkdtempSync(join(tmpdir(), 'coturn-'))
    const port = await freeUdpPort(options.address)
    const config = [
      `listening-ip=${options.address}`,
      `relay-ip=${options.address}`,
      `listening-port=${port}`,
      'use-auth-secret',
      `static-auth-secret=${options.secret}`,
      'realm=signal-kit.test',
      'fingerprint',
      // Plain UDP only: the tests need nothing else, and nothing else gets opened.
      'no-tcp', 'no-tls', 'no-dtls', 'no-cli',
      'no-multicast-peers',
      `log-file=${join(dir, 'turn.log')}`, 'simple-log', 'verbose',
      `pidfile=${join(dir, 'turnserver.pid')}`,
      // Its SQLite user database (unused with a static secret) must not go to /var/lib/turn.
      `userdb=${join(dir, 'turndb')}`,
    ]
    writeFileSync(join(dir, 'turnserver.conf'), `${config.join('\n')}\n`)
    // Its own process group (detached), so stop() ends every thread and helper it has.
    const child = spawn(TURNSERVER, ['-c', join(dir, 'turnserver.conf')], { cwd: dir, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    const coturn = new Coturn(options.address, port, dir, child)
    try {
      await coturn.#untilAnswering()
    } catch (error) {
      await coturn.stop()
      throw error
    }
    return coturn
  }

  /** `turn:<address>:<port>?transport=udp`, for TURN_URLS. */
  get url(): string {
    return `turn:${this.address}:${this.port}?transport=udp`
  }

  /** What it printed and logged (the log's last 20 kB), for failure messages. */
  get output(): string {
    const log = join(this.#dir, 'turn.log')
    return `${this.#output}${existsSync(log) ? readFileSync(log, 'utf8').slice(-20_000) : ''}`
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      this.#signal('SIGTERM')
      const timer = setTimeout(() => this.#signal('SIGKILL'), STOP_GRACE_MS)
      await this.#closed
      clearTimeout(timer)
    }
    this.#signal('SIGKILL') // anything of its group still there
    process.off('exit', this.#killOnExit)
    rmSync(this.#dir, { recursive: true, force: true })
  }

  async #untilAnswering(): Promise<void> {
    const deadline = performance.now() + START_TIMEOUT_MS
    while (!(await stunAnswers(this.address, this.port, PROBE_EVERY_MS))) {
      if (this.#child.exitCode !== null || this.#child.signalCode !== null) throw new Error(`turnserver exited (${this.#child.exitCode ?? this.#child.signalCode}) while starting:\n${this.#output}`)
      if (performance.now() > deadline) throw new Error(`turnserver did not answer STUN on ${this.address}:${this.port} within ${START_TIMEOUT_MS} ms:\n${this.#output}`)
    }
  }

  #signal(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.#child.pid!, signal)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error // the group is already gone
    }
  }
}

/** Sends one STUN binding request (RFC 5389 §6) and resolves whether a binding response came within `waitMs`. */
export function stunAnswers(address: string, port: number, waitMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4')
    const transaction = randomBytes(12)
    const request = Buffer.concat([Buffer.from([0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42]), transaction])
    let settled = false
    const done = (answered: boolean) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.close()
      resolve(answered)
    }
    const timer = setTimeout(() => done(false), waitMs)
    socket.on('message', (message) => {
      if (message.readUInt16BE(0) === 0x0101 && message.subarray(8, 20).equals(transaction)) done(true)
    })
    socket.on('error', () => done(false)) // ICMP port unreachable while it starts
    socket.send(request, port, address)
  })
}

/** A UDP port free on `address` now (bound to 0 and released; coturn binds it right after). */
function freeUdpPort(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4')
    socket.once('error', reject)
    socket.bind(0, address, () => {
      const { port } = socket.address()
      socket.close(() => resolve(port))
    })
  })
}
