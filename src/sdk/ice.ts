import type { ServedIce } from '../protocol/ice-servers'
import { relayEndpoint } from '../transport/relay-url'

/** ICE settings a page (RTMConfig) or one CallClient (CallClientOptions) may give. */
export interface IceOptions {
  /** STUN/TURN servers of the page's own. */
  iceServers?: RTCIceServer[]
  /** `relay`: only TURN relay candidates, so the other party never learns our addresses. */
  iceTransportPolicy?: RTCIceTransportPolicy
}

/** Credentials are fetched again at this share of their lifetime, well before they expire. */
export const REFRESH_AT_SHARE = 0.8
/** One fetch of /ice-servers gives up after this long. */
export const FETCH_TIMEOUT_MS = 10_000
/** After a failed fetch (network, relay error) the next try waits this long, doubling to the cap. */
export const RETRY_MIN_MS = 1_000
export const RETRY_MAX_MS = 60_000

export interface IceSourceSettings {
  appId: string
  userId: string
  /** The relay that serves `/ice-servers` (its URL with its base path), or null: the page's settings only. */
  relayUrl: string | null
  /** The page's own settings (RTMConfig): used with the relay's, or alone without an answer. */
  page: IceOptions
  /** Fetch on login (default: where WebRTC exists, i.e. in browsers; Node bots never need it). */
  autoFetch?: boolean
  fetch?: typeof globalThis.fetch
  now?: () => number
}

/** Where the relay's ICE answer stands. */
export type IceSourceState =
  | { state: 'idle' }
  | { state: 'loading' }
  | { state: 'served'; served: ServedIce; receivedAt: number }
  /** `retry`: a network or relay error, tried again later; otherwise the relay said no (401) or has no such endpoint. */
  | { state: 'failed'; reason: string; retry: boolean }

/**
 * The ICE servers for this user's peer connections (calls, mesh data channels): the relay's
 * `GET /ice-servers` answer — its STUN/TURN servers with TURN credentials minted for the
 * logged-in user — followed by the page's own `RTMConfig.iceServers`. Fetched at login with
 * the login token, again at 80 % of the credentials' lifetime (or when asked for once
 * stale), and after `renewToken`. Without an answer (tabs mode, no relay, the relay refused)
 * the page's servers alone; with neither, none: host candidates only.
 *
 * @example
 * const pc = new RTCPeerConnection(rtm.ice.configuration())
 * // or, to wait for a fetch in flight (bounded):
 * const pc = new RTCPeerConnection(await rtm.ice.ready())
 */
export class IceConfigSource {
  #status: IceSourceState = { state: 'idle' }
  #token: string | undefined
  #following = false
  /** Stamps each fetch; an answer for an older token or session is dropped. */
  #generation = 0
  #inFlight: Promise<void> | null = null
  #timer: ReturnType<typeof setTimeout> | null = null
  #retryMs = RETRY_MIN_MS
  readonly #fetch: typeof globalThis.fetch
  readonly #now: () => number

  constructor(private readonly settings: IceSourceSettings) {
    this.#fetch = settings.fetch ?? ((...args) => globalThis.fetch(...args))
    this.#now = settings.now ?? Date.now
  }

  get status(): IceSourceState {
    return this.#status
  }

  /**
   * The RTCConfiguration to use now. `overrides` (a CallClient's options): its
   * `iceServers` replace all others, its `iceTransportPolicy` wins over the page's, which
   * wins over the relay's. Never waits; asks the relay again if the answer is stale.
   */
  configuration(overrides: IceOptions = {}): RTCConfiguration {
    const served = this.#usable()
    const iceServers = overrides.iceServers ?? [...(served?.iceServers ?? []), ...(this.settings.page.iceServers ?? [])]
    const policy = overrides.iceTransportPolicy ?? this.settings.page.iceTransportPolicy ?? served?.iceTransportPolicy
    return policy ? { iceServers, iceTransportPolicy: policy } : { iceServers }
  }

  /** `configuration()` once a fetch in flight (or one started now for a stale answer) has settled, or after `timeoutMs`. */
  async ready(overrides: IceOptions = {}, timeoutMs = FETCH_TIMEOUT_MS): Promise<RTCConfiguration> {
    this.#usable() // starts a refresh if stale
    if (this.#inFlight) {
      let timer: ReturnType<typeof setTimeout> | undefined
      await Promise.race([this.#inFlight, new Promise<void>((resolve) => { timer = setTimeout(resolve, timeoutMs) })])
      clearTimeout(timer)
    }
    return this.configuration(overrides)
  }

  /** Starts following a login: fetches now (when automatic) and keeps the credentials fresh. */
  follow(token: string | undefined): void {
    this.#token = token
    this.#following = true
    if (this.settings.autoFetch ?? typeof globalThis.RTCPeerConnection === 'function') void this.refresh()
  }

  /** A renewed login token: the next fetch uses it; a refused or running fetch is redone with it. */
  useToken(token: string | undefined): void {
    this.#token = token
    if (!this.#following) return
    if (this.#status.state === 'failed' || this.#inFlight) void this.refresh(true)
  }

  /**
   * Asks the relay now (one fetch at a time; `restart` drops the one in flight). Never
   * rejects: a failure is in `status` and the page's servers are used meanwhile.
   */
  refresh(restart = false): Promise<void> {
    if (this.#inFlight && !restart) return this.#inFlight
    this.#clearTimer()
    const generation = ++this.#generation
    const settled = this.#load(generation).finally(() => {
      if (this.#inFlight === settled) this.#inFlight = null
    })
    this.#inFlight = settled
    return settled
  }

  /** Logged out: forgets the answer and the token, stops refreshing. */
  stop(): void {
    this.#following = false
    this.#token = undefined
    this.#generation++
    this.#inFlight = null
    this.#clearTimer()
    this.#status = { state: 'idle' }
  }

  /** The relay's answer while its credentials are valid; starts a refresh once it is due. */
  #usable(): ServedIce | null {
    if (this.#status.state !== 'served') return null
    const { served, receivedAt } = this.#status
    if (served.ttl === null) return served
    const age = this.#now() - receivedAt
    if (age >= served.ttl * 1000 * REFRESH_AT_SHARE && this.#following && !this.#inFlight) void this.refresh()
    // Expired TURN credentials only earn 401s from the TURN server: leave the whole answer out.
    return age < served.ttl * 1000 ? served : null
  }

  async #load(generation: number): Promise<void> {
    const { relayUrl, appId, userId } = this.settings
    if (relayUrl === null) {
      this.#status = { state: 'failed', reason: 'no relay to ask', retry: false }
      return
    }
    if (this.#status.state !== 'served') this.#status = { state: 'loading' }
    const { origin, path } = relayEndpoint(relayUrl, '/ice-servers')
    const url = `${origin}${path}?${new URLSearchParams({ appId, userId })}`
    const outcome = await this.#fetch(url, {
      headers: this.#token ? { authorization: `Bearer ${this.#token}` } : {},
      cache: 'no-store',
      credentials: 'omit',
      signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
    }).then(
      async (response) => ({ response, body: await response.json().catch(() => undefined) as unknown }),
      (error: unknown) => ({ error: error instanceof Error ? error.message : String(error) }),
    )
    if (generation !== this.#generation) return
    if ('error' in outcome) return this.#failed(`cannot reach ${url}: ${outcome.error}`, true)
    const { response, body } = outcome
    if (response.status === 401 || response.status === 403) {
      const reason = (body as { error?: { reason?: unknown; name?: unknown } } | undefined)?.error
      return this.#failed(`the relay refused: ${String(reason?.reason || reason?.name || response.status)}`, false)
    }
    if (response.status >= 500) return this.#failed(`the relay answered ${response.status}`, true)
    // The validator (zod) loads with the first answer, not with the page: the first download stays small.
    const served = response.ok ? (await import('../protocol/ice-servers')).parseServedIce(body) : null
    if (generation !== this.#generation) return
    // 404 or a page instead of an answer: this relay (or static server) has no ICE servers to give.
    if (!served) return this.#failed(`no ICE servers at ${url} (${response.status})`, false)
    this.#status = { state: 'served', served, receivedAt: this.#now() }
    this.#retryMs = RETRY_MIN_MS
    if (served.ttl !== null && this.#following) this.#schedule(served.ttl * 1000 * REFRESH_AT_SHARE)
  }

  #failed(reason: string, retry: boolean): void {
    // A refresh that failed keeps the previous answer while its credentials last.
    if (this.#status.state !== 'served' || !retry) this.#status = { state: 'failed', reason, retry }
    if (!retry || !this.#following) return
    this.#schedule(this.#retryMs)
    this.#retryMs = Math.min(this.#retryMs * 2, RETRY_MAX_MS)
  }

  #schedule(delayMs: number): void {
    this.#clearTimer()
    this.#timer = setTimeout(() => {
      this.#timer = null
      void this.refresh()
    }, delayMs)
    // A Node process (a bot, a test) must not stay alive for a refresh.
    ;(this.#timer as { unref?: () => void }).unref?.()
  }

  #clearTimer(): void {
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
  }
}
