import { linkConnId, parseEnvelope, type Envelope } from '../protocol/peer-envelope'
import { IdbStore } from '../store/idb-store'
import { broadcastBus, tabsChannelName } from '../transport/broadcast-channel'
import type { EnvelopeBus } from '../transport/follower-link'
import { CoordinatorSeat, HostedCoordinator } from './hosted-coordinator'

/** The coordinator re-announces itself this often (late tabs, lost messages). */
export const BEACON_MS = 1000
/** Followers that all notice a frozen coordinator wait up to this long, so one steals first. */
export const STEAL_JITTER_MS = 300

/** After losing or failing a term, a seat waits this long before it stands for election again. */
export const RETRY_ELECTION_MS = 250

/** The IndexedDB database that holds an app's durable state in tabs mode. */
export function tabsDatabaseName(appId: string): string {
  return `rtm-coordinator:${appId}`
}

/**
 * One tab's seat in the tabs-mode group of an app (one per RTM client). Every seat asks
 * for the Web Lock `coord:<appId>`; the browser grants it to one tab at a time and frees
 * it when that tab closes or crashes, so the next waiter takes over (DESIGN.md "Mesh
 * mode"). The holder loads the IndexedDB store, runs the engine and answers envelopes on
 * the app's BroadcastChannel; followers' SDKs link to it over the channel.
 *
 * Liveness: each seat holds `tab:<id>` for its life; asking for another seat's lock is
 * granted exactly when that tab dies (FACTS.md). A frozen coordinator keeps its lock, so
 * followers that hear nothing from it steal the lock.
 */
export class TabCoordinator extends CoordinatorSeat {
  readonly tabId = randomId()
  /** The seat that coordinates, as far as this tab knows (itself included). */
  coordinatorId: string | null = null
  private epoch = 0
  private readonly bus: EnvelopeBus
  private readonly listeners = new Set<() => void>()
  private readonly watchedTabs = new Map<string, AbortController>()
  private readonly lifetime = new AbortController()
  private campaignAbort: AbortController | null = null
  private endTerm: (() => void) | null = null
  private beacon: ReturnType<typeof setInterval> | null = null
  private stealing = false
  /** The election term being served (a lock grant); a failure of an older request must not end it. */
  private term: symbol | null = null
  private destroyed = false

  constructor(readonly appId: string) {
    super()
    const locks = globalThis.navigator?.locks
    if (!locks || typeof BroadcastChannel === 'undefined') throw new Error('tabs mode needs the Web Locks API and BroadcastChannel (a browser page)')
    // Held for the life of this seat: others learn of our death when they are granted it.
    void locks.request(`tab:${this.tabId}`, { signal: this.lifetime.signal }, () => new Promise<void>((resolve) => {
      this.lifetime.signal.addEventListener('abort', () => resolve())
    })).catch(() => undefined)
    this.bus = broadcastBus(tabsChannelName(appId))
    this.bus.listen((raw) => this.onEnvelope(raw))
    this.bus.post({ kind: 'who', from: this.tabId })
    this.campaign()
  }

  /** Called when the coordinator changes (or becomes unknown). */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  describe(): string {
    if (this.isCoordinator) return `this tab (${this.tabId})`
    return this.coordinatorId ? `tab ${this.coordinatorId}` : 'electing…'
  }

  /** A follower link heard nothing from `coordinator`: replace it unless someone already did. */
  suspect(coordinator: string): void {
    if (this.destroyed || this.stealing || this.isCoordinator || this.coordinatorId !== coordinator) return
    this.stealing = true
    setTimeout(() => {
      if (this.destroyed || this.isCoordinator || this.coordinatorId !== coordinator) {
        this.stealing = false
        return
      }
      this.campaignAbort?.abort()
      this.runTerm({ steal: true })
    }, Math.random() * STEAL_JITTER_MS)
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return
    this.destroyed = true
    this.campaignAbort?.abort()
    await this.stepDown('the coordinator tab left')
    for (const watch of this.watchedTabs.values()) watch.abort()
    this.lifetime.abort()
    this.bus.release()
    this.listeners.clear()
  }

  private campaign(): void {
    if (this.destroyed) return
    this.campaignAbort = new AbortController()
    this.runTerm({ signal: this.campaignAbort.signal })
  }

  /** Asks for the election lock; while granted, coordinates. */
  private runTerm(options: LockOptions): void {
    const term = Symbol('term')
    navigator.locks.request(`coord:${this.appId}`, options, () => this.serve(term)).then(
      () => this.afterTerm(),
      // Aborted while waiting (we steal instead), stolen from us while serving, or the store
      // failed to open: step down (only if this term is the one serving), and stand again
      // after a pause rather than in a tight loop.
      () => {
        const ending = this.term === term ? this.stepDown('another tab took over') : Promise.resolve()
        void ending.then(() => setTimeout(() => this.afterTerm(), RETRY_ELECTION_MS))
      },
    )
  }

  private afterTerm(): void {
    this.stealing = false
    if (!this.destroyed && !this.isCoordinator && !(this.campaignAbort && !this.campaignAbort.signal.aborted)) this.campaign()
  }

  private async serve(term: symbol): Promise<void> {
    this.stealing = false
    if (this.destroyed) return
    this.term = term
    const ended = new Promise<void>((resolve) => { this.endTerm = resolve })
    const hosted = await HostedCoordinator.start(await IdbStore.open(tabsDatabaseName(this.appId)), {
      send: (targets, frame) => this.bus.post({ kind: 'frame', from: this.tabId, targets, frame }),
      close: (conn, reason) => {
        const [peer, link] = conn.split('/')
        if (peer && link) this.bus.post({ kind: 'close', from: this.tabId, to: peer, link, reason })
      },
    }, { onStoreFailure: () => { if (this.term === term) void this.stepDown('the coordinator tab could not store a write') } })
    if (this.endTerm === null) {
      // Stolen or destroyed while loading the store.
      await hosted.stop('another tab took over')
      return
    }
    this.hosted = hosted
    this.epoch = Date.now()
    this.setCoordinator(this.tabId)
    this.announce()
    this.beacon = setInterval(() => this.announce(), BEACON_MS)
    await ended
  }

  private async stepDown(reason: string): Promise<void> {
    const end = this.endTerm
    this.endTerm = null
    this.term = null
    if (this.beacon) clearInterval(this.beacon)
    this.beacon = null
    const hosted = this.hosted
    this.hosted = null
    if (hosted) {
      this.bus.post({ kind: 'resign', from: this.tabId })
      await hosted.stop(reason)
      if (this.coordinatorId === this.tabId) this.setCoordinator(null)
    }
    end?.()
  }

  private announce(): void {
    this.bus.post({ kind: 'beacon', from: this.tabId, epoch: this.epoch })
  }

  private onEnvelope(raw: unknown): void {
    const envelope = parseEnvelope(raw)
    if (!envelope || envelope.from === this.tabId) return
    switch (envelope.kind) {
      case 'beacon':
        if (this.coordinatorId !== envelope.from && envelope.epoch >= this.epoch && !this.isCoordinator) {
          this.epoch = envelope.epoch
          this.setCoordinator(envelope.from)
        }
        return
      case 'resign':
        if (this.coordinatorId === envelope.from) this.setCoordinator(null)
        return
      case 'who':
        if (this.isCoordinator) this.announce()
        return
      default:
        if ('to' in envelope && envelope.to === this.tabId && this.hosted) this.serveEnvelope(this.hosted, envelope)
    }
  }

  /** Envelopes addressed to us as coordinator. */
  private serveEnvelope(hosted: HostedCoordinator, envelope: Envelope): void {
    if (!('link' in envelope)) return
    const conn = linkConnId(envelope.from, envelope.link)
    const reply = (kind: 'welcome' | 'pong') => this.bus.post({ kind, from: this.tabId, to: envelope.from, link: envelope.link })
    const unknown = () => this.bus.post({ kind: 'close', from: this.tabId, to: envelope.from, link: envelope.link, reason: 'unknown link' })
    switch (envelope.kind) {
      case 'hello':
        if (!hosted.has(conn)) hosted.attachRemote(conn)
        this.watchTab(envelope.from)
        return reply('welcome')
      case 'req':
        return hosted.has(conn) ? hosted.receive(conn, envelope.frame) : unknown()
      case 'ping':
        return hosted.has(conn) ? reply('pong') : unknown()
      case 'bye':
        return hosted.detach(conn)
      default:
        return
    }
  }

  /** Learns when a follower tab dies (its `tab:<id>` lock becomes free) and drops its links. */
  private watchTab(peer: string): void {
    if (this.watchedTabs.has(peer)) return
    const watch = new AbortController()
    this.watchedTabs.set(peer, watch)
    navigator.locks.request(`tab:${peer}`, { signal: watch.signal }, () => {
      this.watchedTabs.delete(peer)
      for (const conn of this.hosted?.remoteConns(`${peer}/`) ?? []) this.hosted?.detach(conn)
    }).catch(() => undefined)
  }

  private setCoordinator(id: string | null): void {
    if (this.coordinatorId === id) return
    this.coordinatorId = id
    if (id !== null && id !== this.tabId) this.watchCoordinatorDeath(id)
    for (const listener of [...this.listeners]) listener()
  }

  /** Followers watch the coordinator the same way: its death closes their links at once. */
  private watchCoordinatorDeath(peer: string): void {
    const watch = new AbortController()
    navigator.locks.request(`tab:${peer}`, { signal: watch.signal }, () => {
      if (this.coordinatorId === peer) this.setCoordinator(null)
    }).catch(() => undefined)
    // Stop waiting once someone else coordinates.
    const stop = this.onChange(() => {
      if (this.coordinatorId !== peer) {
        watch.abort()
        stop()
      }
    })
    this.lifetime.signal.addEventListener('abort', () => watch.abort())
  }
}

function randomId(): string {
  return Array.from(globalThis.crypto.getRandomValues(new Uint8Array(6)), (b) => b.toString(16).padStart(2, '0')).join('')
}
