import { readFileSync } from 'node:fs'
import { SignJWT } from 'jose'
import { percentile, round } from './report'
import { NativeClient, type Reply } from './raw-client'
import { RelayChild, sleep, type RelayChildOptions } from './relay-child'

/**
 * What every attack of bench/attacks.ts shares: a fresh relay per attack (started from the
 * folder under test), a bystander client that measures how long the relay stops answering,
 * memory sampling, tokens, and one result row.
 */

/** The HS256 secret of attacks run "with TOKEN_SECRET". */
export const SECRET = 'attack-secret-not-for-production-0123456789'
/** Local address of the bystander: not the attacker's, so per-address limits do not count it. */
export const BYSTANDER_ADDRESS = '127.0.0.9'
/** No attack runs longer than this, whatever the relay does. */
export const ATTACK_MAX_MS = 120_000
/** After the attack, how long a crash may take to show as a process exit. */
const CRASH_GRACE_MS = 1500
/** /proc/net/sockstat counts TCP memory in pages. */
const PAGE_BYTES = 4096
/** After the attack, how long to wait for a busy relay to answer /healthz again (its backlog may still grow memory). */
const CATCH_UP_MAX_MS = 30_000
/** The bystander's pace: well under any per-connection rate limit. */
const BYSTANDER_EVERY_MS = 20

export interface AttackResult {
  id: string
  finding: number
  title: string
  crashed: boolean
  exit: string | null
  baseRssMiB: number | null
  peakRssMiB: number | null
  /** Peak growth of the kernel's TCP buffers on the box (/proc/net/sockstat): bytes queued on loopback sockets, outside any RSS. */
  peakTcpBuffersMiB: number | null
  /** Requests, frames or connections the relay refused, by code (or by how: `close 1009`, `HTTP 429`). */
  refused: Record<string, number>
  /** Frames delivered / accepted — what the attack got through. */
  delivered: string
  /** Longest round trip of the bystander's requests during the attack (ms), or its wait until the connection was lost. */
  stallMs: number | null
  bystanderLost: boolean
  bystanderP99Ms: number | null
  notes: string[]
  figures: Record<string, unknown>
}

/** What an attack gets: the relay (url, logs, memory) and places to put its findings. */
export interface AttackContext {
  relay: RelayChild
  url: string
  wsUrl: string
  refuse(code: string | number, count?: number): void
  note(text: string): void
  figures: Record<string, unknown>
  /** Clients closed after the attack, whatever happened. */
  track<T extends { close(): void }>(client: T): T
}

export interface AttackSpec {
  id: string
  finding: number
  title: string
  relay?: RelayChildOptions
  run(context: AttackContext): Promise<{ delivered: string }>
}

export async function token(userId: string, appId?: string): Promise<string> {
  const jwt = new SignJWT(appId ? { appId } : {}).setProtectedHeader({ alg: 'HS256' }).setSubject(userId).setExpirationTime('1h')
  return jwt.sign(new TextEncoder().encode(SECRET))
}

/** Measures the relay's responsiveness: one `heartbeat` round trip every 20 ms from its own address. */
export class Bystander {
  readonly #rtts: number[] = []
  #outstandingSince: number | null = null
  /** How long the request in flight had waited when the connection closed under it. */
  #lostAfterMs = 0
  #stopped = false
  #loop: Promise<void> = Promise.resolve()

  private constructor(readonly client: NativeClient) {}

  static async start(url: string, withToken: boolean): Promise<Bystander> {
    const client = await NativeClient.connect(url, undefined, { localAddress: BYSTANDER_ADDRESS })
    const login = await client.login('bystanders', 'bystander', withToken ? { token: await token('bystander') } : {})
    if (!login.ok) throw new Error(`bystander login failed: ${JSON.stringify(login.error)}`)
    const bystander = new Bystander(client)
    bystander.#loop = bystander.#run()
    return bystander
  }

  async #run(): Promise<void> {
    while (!this.#stopped && !this.client.closed) {
      this.#outstandingSince = performance.now()
      const reply: Reply = await this.client.request('heartbeat', {}, ATTACK_MAX_MS)
      this.#outstandingSince = null
      if (reply.error?.name === 'CLOSED') {
        this.#lostAfterMs = reply.ms
        return
      }
      this.#rtts.push(reply.ms)
      await sleep(BYSTANDER_EVERY_MS)
    }
  }

  /** Clears what was measured so far (the setup before the attack proper). */
  reset(): void {
    this.#rtts.length = 0
  }

  /** The longest wait for an answer (until the connection was lost, if it was), p99 of the answered, and whether it was lost. */
  async stop(): Promise<{ stallMs: number; p99Ms: number | null; lost: boolean }> {
    const pending = this.#outstandingSince === null ? 0 : performance.now() - this.#outstandingSince
    const lost = this.client.closed
    this.#stopped = true
    this.client.close()
    await this.#loop
    const all = [...this.#rtts, pending, this.#lostAfterMs]
    return {
      stallMs: round(Math.max(...all), 0),
      p99Ms: this.#rtts.length ? round(percentile(this.#rtts, 99), 1) : null,
      lost,
    }
  }
}

/** Runs one attack against a fresh relay and turns what happened into a row. */
export async function runAttack(spec: AttackSpec, relayDir: string, logLevel: string): Promise<AttackResult> {
  const relay = await RelayChild.start({ relayDir, logLevel, ...spec.relay })
  const result: AttackResult = {
    id: spec.id, finding: spec.finding, title: spec.title, crashed: false, exit: null,
    baseRssMiB: null, peakRssMiB: null, peakTcpBuffersMiB: null, refused: {}, delivered: '', stallMs: null, bystanderLost: false, bystanderP99Ms: null, notes: [], figures: {},
  }
  const clients: { close(): void }[] = []
  const context: AttackContext = {
    relay, url: relay.url, wsUrl: relay.url.replace(/^http/, 'ws'),
    refuse(code, count = 1) { result.refused[String(code)] = (result.refused[String(code)] ?? 0) + count },
    note(text) { result.notes.push(text) },
    figures: result.figures,
    track(client) { clients.push(client); return client },
  }
  const bystander = await Bystander.start(relay.url, spec.relay?.tokenSecret !== undefined)
  await sleep(300)
  bystander.reset()
  result.baseRssMiB = round(relay.memory()?.rssMiB ?? NaN, 0)
  const sampler = relay.sampleMemory(50)
  const tcp = sampleTcpBuffers()
  try {
    const outcome = await Promise.race([
      spec.run(context),
      sleep(ATTACK_MAX_MS).then(() => ({ delivered: `stopped after ${ATTACK_MAX_MS / 1000} s` })),
    ])
    result.delivered = outcome.delivered
  } catch (error) {
    result.notes.push(`attack script error: ${String(error).slice(0, 200)}`)
  }
  await Promise.race([relay.exited, sleep(CRASH_GRACE_MS)])
  // A relay still working through the attack's backlog may not have reached its peak yet.
  const busySince = performance.now()
  while (relay.alive && performance.now() - busySince < CATCH_UP_MAX_MS && (await relay.health(1000)) === null) await sleep(100)
  const busyMs = performance.now() - busySince
  if (relay.alive && busyMs > 1500) {
    result.notes.push(busyMs >= CATCH_UP_MAX_MS ? `relay still unresponsive ${CATCH_UP_MAX_MS / 1000} s after the attack` : `relay unresponsive for ${round(busyMs / 1000, 1)} s after the attack`)
  }
  result.peakRssMiB = round(sampler.stop(), 0)
  result.peakTcpBuffersMiB = tcp.stop()
  const measured = await bystander.stop()
  result.stallMs = measured.stallMs
  result.bystanderP99Ms = measured.p99Ms
  result.bystanderLost = measured.lost
  for (const client of clients) client.close()
  const warnings = warningsIn(relay.tail)
  if (warnings) result.notes.push(`relay log: ${warnings}`)
  if (!relay.alive) {
    result.crashed = true
    result.exit = `exit ${relay.exit?.code ?? relay.exit?.signal}: ${lastError(relay.tail)}`
  }
  await relay.stop()
  return result
}

/** Samples the kernel's TCP buffer pages (all sockets of the box) every 50 ms; `stop` gives the peak growth, MiB. */
function sampleTcpBuffers(): { stop(): number | null } {
  const read = () => {
    try {
      const pages = /TCP:.* mem (\d+)/.exec(readFileSync('/proc/net/sockstat', 'utf8'))?.[1]
      return pages === undefined ? NaN : (Number(pages) * PAGE_BYTES) / 2 ** 20
    } catch {
      return NaN
    }
  }
  const base = read()
  let peak = base
  const timer = setInterval(() => { peak = Math.max(peak, read()) }, 50)
  return {
    stop() {
      clearInterval(timer)
      return Number.isFinite(base) ? round(Math.max(0, peak - base), 0) : null
    },
  }
}

/** The relay's warnings and errors (pino JSON, level ≥ 40) in its last output, as "msg ×n". */
function warningsIn(tail: string): string {
  const counts = new Map<string, number>()
  for (const line of tail.split('\n')) {
    try {
      const entry = JSON.parse(line) as { level?: number; msg?: string; reason?: string }
      if ((entry.level ?? 0) < 40 || !entry.msg) continue
      const text = `${entry.msg}${entry.reason ? ` (${entry.reason})` : ''}`.slice(0, 120)
      counts.set(text, (counts.get(text) ?? 0) + 1)
    } catch {
      // not a log entry (a cut first line, a stack trace)
    }
  }
  return [...counts].slice(0, 3).map(([text, n]) => `"${text}" ×${n}`).join(', ')
}

/** The most telling line of a crashed relay's last output. */
function lastError(tail: string): string {
  const lines = tail.split('\n').filter((line) => /Error|error|Maximum call stack|Unhandled/.test(line))
  return (lines.at(-1) ?? tail.split('\n').filter(Boolean).at(-1) ?? '').slice(0, 160)
}

/** Records the code of a refused native reply; true when it was accepted. */
export function tally(context: AttackContext, reply: Reply): boolean {
  // A reply lost with its connection (the relay died or closed it) is not a refusal: the crash column says it.
  if (!reply.ok && reply.error?.name !== 'CLOSED') context.refuse(reply.error?.errorCode ? reply.error.errorCode : (reply.error?.name ?? 'error'))
  return reply.ok
}

/** Opens `count` things `limit` at a time, stopping once `stopAfterRefusals` in a row failed or `maxMs` passed. */
export async function openMany<T>(
  count: number, limit: number, maxMs: number, stopAfterRefusals: number,
  open: (i: number) => Promise<T>, onRefused: (error: unknown) => void,
): Promise<{ opened: T[]; attempted: number }> {
  const opened: T[] = []
  const deadline = performance.now() + maxMs
  let next = 0
  let refusedInRow = 0
  const lane = async () => {
    while (next < count && performance.now() < deadline && refusedInRow < stopAfterRefusals) {
      const i = next++
      try {
        opened.push(await open(i))
        refusedInRow = 0
      } catch (error) {
        refusedInRow++
        onRefused(error)
      }
    }
  }
  await Promise.all(Array.from({ length: limit }, lane))
  return { opened, attempted: next }
}

/** How an open failed, as a short code for the refused column. */
export function refusal(error: unknown): string {
  const text = String(error)
  return /HTTP \d+/.exec(text)?.[0] ?? /close \d+/.exec(text)?.[0] ?? (/timeout/i.test(text) ? 'timeout' : text.replace(/^Error: /, '').slice(0, 40))
}
