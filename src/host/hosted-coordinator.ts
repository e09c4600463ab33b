import type { ConnId } from '../engine/effects'
import { rtmError } from '../protocol/errors'
import type { ServerFrame } from '../protocol/events'
import type { LocalHub } from '../transport/in-process'
import { CoordinatorHost, type HostOptions } from './coordinator-host'
import type { DurableStore, TokenCheck, TokenVerifier } from './ports'
import { ReplayingCoordinator } from './replaying-coordinator'

/** How often a browser-hosted coordinator feeds the clock to the engine (as the relay). */
export const BROWSER_TICK_MS = 200

/** Where frames for connections that are not local links go (a BroadcastChannel, data channels). */
export interface RemoteSink {
  send(to: ConnId[], frame: ServerFrame): void
  close(conn: ConnId, reason: string): void
}

/** A link inside this page (the coordinator's own SDK). */
export interface LocalLink {
  deliver(frame: ServerFrame): void
  close(reason: string): void
}

/** Accepts any token: tabs and mesh have no server to keep a secret (seed 000 "open" projects). */
export const openVerifier: TokenVerifier = {
  async verify() {
    return { ok: true, expiresAt: null }
  },
}

/**
 * Who is behind a remote connection, as far as this page can know. A browser keeps no
 * secret, so it cannot check a login token itself; in mesh mode with a token secret the
 * relay's PeerJS broker attests the user of each data channel instead:
 * - `{ appId, userId }`: the broker authenticated the peer as this user of this app, so it
 *   may log in (and renew its token) as that user only;
 * - `'unattested'`: the broker checks tokens but vouched for no one on this channel: no login;
 * - `'open'`: nothing is checked (tabs, a relay in open mode); any login is accepted.
 * The page's own SDK (local links) is trusted as whoever it logs in as.
 */
export type RemoteIdentity = { appId: string; userId: string } | 'unattested' | 'open'

/** A login or renewToken on `conn` must be for the user its channel was attested as (RemoteIdentity). */
export function checkIdentity(identity: RemoteIdentity, appId: string, userId: string, operation: string): TokenCheck {
  if (identity === 'open') return { ok: true, expiresAt: null }
  if (identity === 'unattested') {
    return { ok: false, error: rtmError('INVALID_TOKEN', operation, 'the relay checks tokens but did not authenticate this connection') }
  }
  if (identity.appId === appId && identity.userId === userId) return { ok: true, expiresAt: null }
  return { ok: false, error: rtmError('INVALID_TOKEN', operation, `this connection was authenticated as ${identity.userId} of app ${identity.appId}`) }
}

/**
 * The engine hosted in a browser: CoordinatorHost over a durable store, with the clock
 * ticking, local links for the page's own SDKs and a remote sink for everyone else. Its
 * coordinator remembers replies of applied writes durably, so a takeover never applies a
 * resent write twice.
 */
export class HostedCoordinator {
  private readonly local = new Map<ConnId, LocalLink>()
  private readonly remote = new Map<ConnId, RemoteIdentity>()
  private readonly ticker: ReturnType<typeof setInterval>
  private stopped = false
  private nextLocal = 1

  private constructor(readonly host: CoordinatorHost, private readonly store: DurableStore, private readonly remoteSink: RemoteSink) {
    this.ticker = setInterval(() => host.tick(), BROWSER_TICK_MS)
  }

  /**
   * `onStoreFailure`: a commit failed and the host refuses everything (CoordinatorHost); step down so another term loads the store.
   * `iceUrls`: the ICE server URLs room JOIN acks list (default none).
   */
  static async start(store: DurableStore, remoteSink: RemoteSink, options: Pick<HostOptions, 'trace' | 'onStoreFailure' | 'iceUrls'> = {}): Promise<HostedCoordinator> {
    let hosted: HostedCoordinator | null = null
    const host = new CoordinatorHost({
      ...options,
      coordinator: new ReplayingCoordinator(),
      store,
      verifier: { verify: async (_token, appId, userId, operation, conn) => hosted?.checkLogin(conn, appId, userId, operation) ?? gone(operation) },
      now: Date.now,
      newResumeKey: randomKey,
      sink: {
        send: (to, frame) => hosted?.send(to, frame),
        close: (conn, reason) => hosted?.closeConn(conn, reason),
      },
    })
    await host.start()
    hosted = new HostedCoordinator(host, store, remoteSink)
    return hosted
  }

  /** A link from this page: returns its connection id. */
  attachLocal(link: LocalLink): ConnId {
    const conn = `local.${this.nextLocal++}`
    this.local.set(conn, link)
    return conn
  }

  /** A connection from another page; `identity`: who it may log in as (default: anyone, as in tabs). */
  attachRemote(conn: ConnId, identity: RemoteIdentity = 'open'): void {
    this.remote.set(conn, identity)
  }

  /** May `conn` log in (or renew its token) as `userId` of `appId`? Local links as anyone, remote ones per their RemoteIdentity. */
  checkLogin(conn: ConnId | undefined, appId: string, userId: string, operation: string): TokenCheck {
    if (conn !== undefined && this.local.has(conn)) return { ok: true, expiresAt: null }
    const identity = conn === undefined ? undefined : this.remote.get(conn)
    return identity === undefined ? gone(operation) : checkIdentity(identity, appId, userId, operation)
  }

  has(conn: ConnId): boolean {
    return this.local.has(conn) || this.remote.has(conn)
  }

  /** Remote connections whose id starts with `prefix` (all links of one tab or peer). */
  remoteConns(prefix: string): ConnId[] {
    return [...this.remote.keys()].filter((conn) => conn.startsWith(prefix))
  }

  /** An untrusted request frame on an attached connection (the host validates it). */
  receive(conn: ConnId, raw: unknown): void {
    if (this.stopped || !this.has(conn)) return
    this.host.receive(conn, raw)
  }

  /** The link went away (closed by its end, or its tab/peer died). */
  detach(conn: ConnId): void {
    if (!this.local.delete(conn) && !this.remote.delete(conn)) return
    if (!this.stopped) this.host.disconnected(conn)
  }

  /** Steps down: every link is closed (clients reconnect to the next coordinator). */
  async stop(reason: string): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    clearInterval(this.ticker)
    for (const [conn, link] of this.local) {
      this.local.delete(conn)
      link.close(reason)
    }
    for (const conn of this.remote.keys()) this.remoteSink.close(conn, reason)
    this.remote.clear()
    await this.host.settled().catch(() => undefined)
    await this.store.close()
  }

  get isStopped(): boolean {
    return this.stopped
  }

  private send(to: ConnId[], frame: ServerFrame): void {
    if (this.stopped) return
    const remote: ConnId[] = []
    for (const conn of to) {
      const link = this.local.get(conn)
      if (link) link.deliver(frame)
      else if (this.remote.has(conn)) remote.push(conn)
    }
    if (remote.length > 0) this.remoteSink.send(remote, frame)
  }

  private closeConn(conn: ConnId, reason: string): void {
    const link = this.local.get(conn)
    if (link) {
      this.local.delete(conn)
      link.close(reason)
    } else if (this.remote.delete(conn)) {
      this.remoteSink.close(conn, reason)
    }
  }
}

/**
 * A page that may coordinate (a tab, a mesh browser): while it hosts the coordinator, its
 * own SDK reaches it over in-process links (LocalHub).
 */
export abstract class CoordinatorSeat implements LocalHub {
  protected hosted: HostedCoordinator | null = null

  get isCoordinator(): boolean {
    return this.hosted !== null && !this.hosted.isStopped
  }

  attach(link: LocalLink): ConnId | null {
    return this.isCoordinator ? this.hosted!.attachLocal(link) : null
  }

  receive(conn: ConnId, frame: unknown): void {
    this.hosted?.receive(conn, frame)
  }

  detach(conn: ConnId): void {
    this.hosted?.detach(conn)
  }
}

/** A login checked after its connection went away (or from no known connection): refused, no one will read it. */
function gone(operation: string): TokenCheck {
  return { ok: false, error: rtmError('INVALID_TOKEN', operation, 'the connection is gone') }
}

function randomKey(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(18))
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('')
}
