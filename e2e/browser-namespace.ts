import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { chmodSync, mkdtempSync, readlinkSync, rmSync, writeFileSync } from 'node:fs'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

/**
 * A browser "on another network": a child network namespace of the test's (held open by
 * `unshare -n sleep infinity`), joined to it by a veth pair with a default route through
 * the test's end, and a wrapper script to give Playwright as `executablePath`, which starts
 * Chromium inside it (`nsenter --net=…`). Two such browsers reach everything in the test's
 * namespace (relay, TURN server) but not each other: a namespace routes nothing that is not
 * its own (ip_forward is 0 in a new one), so their host candidates can never pair. And the
 * browser's link can go down while one beside the relay keeps its own (FACTS.md: two tabs in
 * one namespace keep talking over local addresses even with the veth down).
 * Needs CAP_NET_ADMIN and CAP_SYS_ADMIN in the test's namespace: run inside scripts/netns-run.
 *
 * Subnets in use there: 10.99.0 (netns-run's own pair), 10.99.1 (e2e/hosting/relay-namespace.ts),
 * 41 and 42 (turn-call.spec.ts), 43 (call-resume.spec.ts), 44 and 45 (call-quality-network.spec.ts). Specs run side by side in one
 * namespace, so each needs its own subnet and link names.
 */

const run = promisify(execFile)
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
/** `unshare` enters its namespace right after it starts. */
const HOLDER_TIMEOUT_MS = 5_000

/** Started in the namespace by `bridgeLoopback`: 127.0.0.1:PORT there, piped to the UNIX socket at SOCKET. */
const BRIDGE_SCRIPT = `
const net = require('net')
const [path, port] = [process.env.SOCKET, Number(process.env.PORT)]
net.createServer((s) => {
  const u = net.connect(path)
  s.pipe(u).pipe(s)
  const end = () => { s.destroy(); u.destroy() }
  for (const socket of [s, u]) { socket.on('error', end); socket.on('close', end) }
}).listen(port, '127.0.0.1', () => console.log('ready'))
`

/** One loopback bridge: the process in the namespace and the UNIX socket server out here. */
interface Bridge { side: ChildProcess; closed: Promise<void>; outside: Server; sockets: Set<Socket> }

export class BrowserNamespace {
  readonly #holder: ChildProcess
  readonly #closed: Promise<void>
  readonly #dir: string
  readonly #bridges: Bridge[] = []
  readonly #killOnExit = () => this.#kill()

  /**
   * `testLink`: our end of the pair, named in the test's namespace (deleting it deletes both ends);
   * `testAddress`: its address, the browser's gateway; `browserLink`/`address`: the browser's end.
   */
  private constructor(holder: ChildProcess, dir: string, readonly testLink: string, readonly testAddress: string,
    readonly browserLink: string, readonly address: string, readonly executablePath: string) {
    this.#holder = holder
    this.#dir = dir
    this.#closed = new Promise((resolve) => holder.once('close', () => resolve()))
    process.once('exit', this.#killOnExit)
  }

  /**
   * A namespace on subnet `10.99.<subnet>.0/24`: the test's end is `.1`, the browser's `.2`.
   * `name`: a short tag for the links (at most 8 characters).
   */
  static async create(name: string, subnet: number): Promise<BrowserNamespace> {
    const holder = spawn('unshare', ['-n', 'sleep', 'infinity'], { detached: true, stdio: 'ignore' })
    await new Promise<void>((resolve, reject) => {
      holder.once('spawn', resolve)
      holder.once('error', reject)
    })
    const pid = holder.pid!
    const dir = mkdtempSync(join(tmpdir(), `browser-ns-${name}-`))
    const namespace = new BrowserNamespace(holder, dir, `${name}-t`, `10.99.${subnet}.1`, `${name}-b`, `10.99.${subnet}.2`, join(dir, 'chromium'))
    try {
      // `spawn` fires once unshare runs; its namespace exists once /proc/<pid>/ns/net is no longer ours.
      const ours = readlinkSync('/proc/self/ns/net')
      const deadline = performance.now() + HOLDER_TIMEOUT_MS
      while (readlinkSync(`/proc/${pid}/ns/net`) === ours) {
        if (performance.now() > deadline) throw new Error('the namespace holder did not enter a namespace of its own')
        await new Promise((resolve) => setTimeout(resolve, 5))
      }
      const { testLink, testAddress, browserLink, address } = namespace
      await run('ip', ['link', 'add', testLink, 'type', 'veth', 'peer', 'name', browserLink, 'netns', String(pid)])
      await run('ip', ['addr', 'add', `${testAddress}/24`, 'dev', testLink])
      await run('ip', ['link', 'set', testLink, 'up'])
      await namespace.exec('ip', 'link', 'set', 'lo', 'up')
      await namespace.exec('ip', 'addr', 'add', `${address}/24`, 'dev', browserLink)
      await namespace.linkUp()
      writeFileSync(namespace.executablePath, `#!/bin/bash\nexec nsenter --net=/proc/${pid}/ns/net ${CHROMIUM} "$@"\n`)
      chmodSync(namespace.executablePath, 0o755)
    } catch (error) {
      await namespace.destroy()
      throw error
    }
    return namespace
  }

  /** Runs a command inside the namespace (for checks such as "B is unreachable from A"). */
  exec(...args: string[]): Promise<{ stdout: string; stderr: string }> {
    return run('nsenter', [`--net=/proc/${this.#holder.pid}/ns/net`, ...args])
  }

  /** The browser's end of the pair (its only interface besides lo) goes down: the browser is off the network. */
  async linkDown(): Promise<void> {
    await this.exec('ip', 'link', 'set', this.browserLink, 'down')
  }

  /** The browser's end comes up with its default route (the kernel drops the route with the link). */
  async linkUp(): Promise<void> {
    await this.exec('ip', 'link', 'set', this.browserLink, 'up')
    await this.exec('ip', 'route', 'replace', 'default', 'via', this.testAddress, 'dev', this.browserLink)
  }

  /**
   * `127.0.0.1:port` inside the namespace reaches `127.0.0.1:port` out here through a UNIX
   * socket, which no interface carries: the browser's signaling survives `linkDown()` while
   * its media (host candidates on the veth only) does not.
   */
  async bridgeLoopback(port: number): Promise<void> {
    const path = join(this.#dir, `bridge-${port}.sock`)
    const sockets = new Set<Socket>()
    const outside = createServer((socket) => {
      const relay = connect(port, '127.0.0.1')
      for (const end of [socket, relay]) {
        sockets.add(end)
        end.once('close', () => sockets.delete(end))
      }
      pipe(socket, relay)
    })
    await new Promise<void>((resolve, reject) => {
      outside.once('error', reject)
      outside.listen(path, resolve)
    })
    // Its own process group, so the exit handler can end it with the holder.
    const side = spawn('nsenter', [`--net=/proc/${this.#holder.pid}/ns/net`, process.execPath, '-e', BRIDGE_SCRIPT], {
      detached: true, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, SOCKET: path, PORT: String(port) },
    })
    // 'close' does not come for a process that never started: 'error' does.
    const closed = new Promise<void>((resolve) => { side.once('close', () => resolve()); side.once('error', () => resolve()) })
    this.#bridges.push({ side, closed, outside, sockets })
    await new Promise<void>((resolve, reject) => {
      side.stdout!.once('data', () => resolve())
      side.once('error', reject)
      side.once('exit', (code, signal) => reject(new Error(`the loopback bridge exited (${code ?? signal})`)))
    })
  }

  /** Ends the bridges and the holder (the namespace goes with its last process), removes the pair and the wrapper. Close the browser first. */
  async destroy(): Promise<void> {
    this.#kill()
    for (const { closed, outside, sockets } of this.#bridges.splice(0)) {
      await closed
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => outside.close(() => resolve()))
    }
    await this.#closed
    process.off('exit', this.#killOnExit)
    await run('ip', ['link', 'del', this.testLink]).catch((error: { stderr?: string }) => {
      if (!/Cannot find device/.test(error.stderr ?? '')) throw error
    })
    rmSync(this.#dir, { recursive: true, force: true })
  }

  #kill(): void {
    for (const { pid } of [...this.#bridges.map(({ side }) => side), this.#holder]) {
      if (pid === undefined) continue // it never started
      try {
        process.kill(-pid, 'SIGKILL')
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error // ESRCH: already gone
      }
    }
  }
}

/** Joins two sockets both ways; either side gone, the other goes too, as a TCP connection would. */
function pipe(a: Socket, b: Socket): void {
  a.pipe(b).pipe(a)
  const end = () => { a.destroy(); b.destroy() }
  for (const socket of [a, b]) {
    socket.on('error', end)
    socket.on('close', end)
  }
}
