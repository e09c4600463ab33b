import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { chmodSync, mkdtempSync, readlinkSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

/**
 * A browser "on another network": a child network namespace of the test's (held open by
 * `unshare -n sleep infinity`), joined to it by a veth pair with a default route through
 * the test's end, and a wrapper script to give Playwright as `executablePath`, which starts
 * Chromium inside it (`nsenter --net=…`). Two such browsers reach everything in the test's
 * namespace (relay, TURN server) but not each other: a namespace routes nothing that is not
 * its own (ip_forward is 0 in a new one), so their host candidates can never pair.
 * Needs CAP_NET_ADMIN and CAP_SYS_ADMIN in the test's namespace: run inside scripts/netns-run.
 */

const run = promisify(execFile)
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
/** `unshare` enters its namespace right after it starts. */
const HOLDER_TIMEOUT_MS = 5_000

export class BrowserNamespace {
  readonly #holder: ChildProcess
  readonly #closed: Promise<void>
  readonly #dir: string
  readonly #killOnExit = () => this.#kill()

  /** `testLink`: our end of the pair, named in the test's namespace (deleting it deletes both ends). */
  private constructor(holder: ChildProcess, dir: string, readonly testLink: string, readonly address: string, readonly executablePath: string) {
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
    const testLink = `${name}-t`
    const innerLink = `${name}-b`
    const testAddress = `10.99.${subnet}.1`
    const address = `10.99.${subnet}.2`
    const dir = mkdtempSync(join(tmpdir(), `browser-ns-${name}-`))
    const executablePath = join(dir, 'chromium')
    const namespace = new BrowserNamespace(holder, dir, testLink, address, executablePath)
    try {
      // `spawn` fires once unshare runs; its namespace exists once /proc/<pid>/ns/net is no longer ours.
      const ours = readlinkSync('/proc/self/ns/net')
      const deadline = performance.now() + HOLDER_TIMEOUT_MS
      while (readlinkSync(`/proc/${pid}/ns/net`) === ours) {
        if (performance.now() > deadline) throw new Error('the namespace holder did not enter a namespace of its own')
        await new Promise((resolve) => setTimeout(resolve, 5))
      }
      const inside = (...args: string[]) => run('nsenter', [`--net=/proc/${pid}/ns/net`, ...args])
      await run('ip', ['link', 'add', testLink, 'type', 'veth', 'peer', 'name', innerLink, 'netns', String(pid)])
      await run('ip', ['addr', 'add', `${testAddress}/24`, 'dev', testLink])
      await run('ip', ['link', 'set', testLink, 'up'])
      await inside('ip', 'link', 'set', 'lo', 'up')
      await inside('ip', 'addr', 'add', `${address}/24`, 'dev', innerLink)
      await inside('ip', 'link', 'set', innerLink, 'up')
      await inside('ip', 'route', 'add', 'default', 'via', testAddress, 'dev', innerLink)
      writeFileSync(executablePath, `#!/bin/bash\nexec nsenter --net=/proc/${pid}/ns/net ${CHROMIUM} "$@"\n`)
      chmodSync(executablePath, 0o755)
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

  /** Ends the holder (the namespace goes with its last process), removes the pair and the wrapper. Close the browser first. */
  async destroy(): Promise<void> {
    this.#kill()
    await this.#closed
    process.off('exit', this.#killOnExit)
    await run('ip', ['link', 'del', this.testLink]).catch((error: { stderr?: string }) => {
      if (!/Cannot find device/.test(error.stderr ?? '')) throw error
    })
    rmSync(this.#dir, { recursive: true, force: true })
  }

  #kill(): void {
    try {
      process.kill(-this.#holder.pid!, 'SIGKILL')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error
    }
  }
}
