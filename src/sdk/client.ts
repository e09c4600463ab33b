import { ChannelType, type ChannelTypeName } from '../protocol/enums'
import type { MessageEvent as WireMessage, PresenceEvent as WirePresence, ServerEvent } from '../protocol/events'
import { createTransport, type TransportMode } from '../transport/create'
import { pageRelayUrl } from '../transport/relay-url'
import type { Transport } from '../transport/transport'
import { Connection, type ServedBy } from './connection'
import { Emitter, toMessageEvent, toPresenceEvent, type LinkStateEvent, type RtmEventMap } from './events'
import { PayloadCipher, type EncryptionMode } from './encryption'
import { HistoryApi, MessageRecovery } from './history'
import { IceConfigSource } from './ice'
import { PresenceApi } from './presence'
import { LockApi } from './lock'
import { StorageApi } from './storage'
import { StreamChannels, type StreamChannel } from './stream-channel'

export interface RTMConfig {
  /** Seconds, [5, 300] (seed 000), default 300. */
  presenceTimeout?: number
  /** Seconds, [5, 1800] (seed 000), default 5. */
  heartbeatInterval?: number
  /** Where the coordinator is: the relay (default), tabs of this browser, a PeerJS mesh, or a custom transport (tests). */
  transport?: TransportMode | Transport
  /** The relay's URL, with its path prefix if it has one (default: the folder the page was served from). */
  url?: string
  /** End-to-end payload encryption (seed 000 RtmEncryptionConfig); the coordinator sees only ciphertext. */
  encryptionMode?: EncryptionMode
  cipherKey?: string
  /** 32 bytes. */
  salt?: Uint8Array
  /**
   * The page's own STUN/TURN servers for calls and mesh data channels, used after the ones
   * the relay serves for this user (`rtm.ice`); the only ones in tabs mode. Default none.
   */
  iceServers?: RTCIceServer[]
  /** `relay`: TURN relay candidates only (privacy, tests). Default: the relay's policy, else `all`. */
  iceTransportPolicy?: RTCIceTransportPolicy
}

export interface SubscribeOptions {
  withMessage?: boolean
  withPresence?: boolean
  withMetadata?: boolean
  withLock?: boolean
  beQuiet?: boolean
}

export interface PublishOptions {
  channelType?: ChannelTypeName
  customType?: string
  /** Keep the message in the channel's history (`rtm.history`); recovered by subscribers after a reconnect. */
  storeInHistory?: boolean
}

/** Something that must be put back after the coordinator lost a session (stream channels, metadata subscriptions…). */
export type Restorer = (resumed: boolean) => Promise<string[]>

/**
 * The signaling client (seed 000, JavaScript form per SDK.md). Every method returns a
 * promise that resolves to `{ timestamp, ...result }` or rejects with
 * `{ error: true, errorCode, reason, operation }`.
 *
 * @example
 * const rtm = new RTM('demo', 'alice', { url: 'http://127.0.0.1:8080' })
 * rtm.addEventListener('message', (event) => console.log(event.publisher, event.message))
 * await rtm.login()
 * await rtm.subscribe('lobby')
 * await rtm.publish('lobby', 'hello')
 */
export class RTM {
  readonly presence: PresenceApi
  readonly storage: StorageApi
  readonly lock: LockApi
  readonly history: HistoryApi
  private readonly recovery: MessageRecovery
  private readonly streams: StreamChannels
  readonly connection: Connection
  /** ICE servers for this user's peer connections: the relay's (TURN credentials included) and the page's. */
  readonly ice: IceConfigSource
  /** The transport in use (its `name` is the mode). */
  readonly transport: Transport
  private readonly events = new Emitter<RtmEventMap>()
  /** Channels to restore after a coordinator loses the session; insertion order is kept. */
  private readonly subscriptions = new Map<string, SubscribeOptions>()
  private readonly restorers = new Set<Restorer>()
  private cipher: PayloadCipher | null = null
  /** Decryption is async; incoming messages still reach listeners in arrival order. */
  private inbound: Promise<void> = Promise.resolve()
  /** For SDK modules: wire events of other kinds (topic, storage, lock…), before conversion. */
  readonly wireHandlers = new Map<string, (event: ServerEvent) => void>()

  constructor(readonly appId: string, readonly userId: string, readonly config: RTMConfig = {}) {
    const mode = typeof config.transport === 'object' ? null : config.transport ?? 'relay'
    const url = config.url ?? pageRelayUrl(globalThis.location)
    // Relay and mesh modes have a relay (the page's own by default); tabs mode only when given one.
    const relayUrl = config.url !== undefined || mode === 'relay' || mode === 'mesh' ? url : null
    this.ice = new IceConfigSource({
      appId, userId, relayUrl, page: { iceServers: config.iceServers, iceTransportPolicy: config.iceTransportPolicy },
    })
    const transport = typeof config.transport === 'object' ? config.transport
      : createTransport(config.transport ?? 'relay', {
        appId, url, rtcConfiguration: () => this.ice.configuration(),
      })
    this.transport = transport
    this.connection = new Connection(
      { appId, userId, presenceTimeout: config.presenceTimeout, heartbeatInterval: config.heartbeatInterval ?? 5, transport },
      {
        state: (change) => {
          // Live messages wait from the drop until the reconnect's recovery is done (history.ts `dropped`);
          // a session that ended (FAILED, IDLE) has no recovery coming, so nothing stays held.
          if (change.current === 'DISCONNECTED') this.recovery.dropped()
          else if (change.current === 'FAILED' || change.current === 'IDLE') this.recovery.release()
          this.events.emit('linkState', {
            currentState: change.current, previousState: change.previous, serviceType: 'MESSAGE',
            operation: change.operation, reason: change.reason, reasonCode: change.reasonCode,
            affectedChannels: [...this.subscriptions.keys()], unrestoredChannels: change.unrestored,
            isResumed: change.isResumed, timestamp: Date.now(),
          } satisfies LinkStateEvent)
        },
        event: (event) => this.dispatch(event),
        frame: (direction, frame) => this.events.emit('frame', { direction, frame, timestamp: Date.now() }),
        restore: (resumed) => this.restore(resumed),
      },
    )
    this.presence = new PresenceApi((op, args) => this.request(op, args))
    this.storage = new StorageApi(this)
    this.lock = new LockApi(this)
    this.history = new HistoryApi({ request: (op, args) => this.request(op, args), open: (message) => this.open(message) })
    this.recovery = new MessageRecovery(
      (op, args) => this.connection.requestNow(op, args),
      (wire, recovered) => this.receiveMessage(wire, recovered),
      // After the channel's recovered messages, which wait for decryption when encrypted.
      (event) => this.afterInbound(() => this.events.emit('recovery', event)),
    )
    this.streams = new StreamChannels(this)
  }

  get linkState(): LinkStateEvent['currentState'] {
    return this.connection.state
  }

  /**
   * In scaled mode, the relay processes serving this session: `gateway` holds the socket,
   * `owner` holds the app's state. Set by every (re)login before its `linkState` CONNECTED
   * event, so read it there; null while not connected, with a single relay process, and in
   * tabs or mesh mode.
   *
   * @example
   * rtm.addEventListener('linkState', () => {
   *   if (rtm.servedBy) console.log(`served by ${rtm.servedBy.gateway}, app owned by ${rtm.servedBy.owner}`)
   * })
   */
  get servedBy(): Readonly<ServedBy> | null {
    return this.connection.servedBy
  }

  /** Who the transport reaches (the relay's URL, the coordinator tab…). */
  get coordinator(): string {
    return this.transport.describe?.() ?? this.transport.name
  }

  async login(options: { token?: string } = {}): Promise<{ timestamp: number }> {
    const mode = this.config.encryptionMode ?? 'NONE'
    if (mode !== 'NONE' && !this.cipher) {
      const cipher = await PayloadCipher.create(mode, this.config.cipherKey, this.config.salt)
      if (!(cipher instanceof PayloadCipher)) throw cipher
      this.cipher = cipher
    }
    // Fetched alongside the login: mesh mode's data channels and the first call need the servers.
    const startsSession = this.linkState === 'IDLE' || this.linkState === 'FAILED'
    if (startsSession) this.ice.follow(options.token)
    try {
      await this.connection.login(options.token)
    } catch (error) {
      if (startsSession) this.ice.stop()
      throw error
    }
    return { timestamp: Date.now() }
  }

  async logout(): Promise<{ timestamp: number }> {
    await this.connection.logout()
    this.ice.stop()
    this.subscriptions.clear()
    this.recovery.forgetAll()
    // The coordinator dropped our stream channels and metadata follows; a later login starts clean.
    this.streams.forgetAll()
    this.storage.forgetFollows()
    return { timestamp: Date.now() }
  }

  async renewToken(token: string): Promise<{ timestamp: number }> {
    this.ice.useToken(token)
    return stamp(await this.connection.renewToken(token))
  }

  async subscribe(channelName: string, options: SubscribeOptions = {}): Promise<{ timestamp: number; channelName: string }> {
    const result = await this.request('subscribe', { channelName, ...options })
    this.subscriptions.set(channelName, options)
    this.recovery.subscribed(channelName, result.history)
    return { timestamp: result.timestamp, channelName }
  }

  async unsubscribe(channelName: string): Promise<{ timestamp: number; channelName: string }> {
    const result = await this.request('unsubscribe', { channelName })
    this.subscriptions.delete(channelName)
    this.recovery.unsubscribed(channelName)
    return { ...result, channelName }
  }

  /**
   * Publishes to a message channel, or to a user with `{ channelType: 'USER' }`. A message
   * stored in history (`storeInHistory`) resolves with its `offset` and the history's `epoch`;
   * one to a user who is away is kept for them instead of failing with -11033.
   */
  async publish(channelName: string, message: string | Uint8Array, options: PublishOptions = {}): Promise<{ timestamp: number; channelName: string; offset?: number; epoch?: string }> {
    const result = await this.request('publish', {
      channelName, message: await this.seal(message), channelType: ChannelType[options.channelType ?? 'MESSAGE'], customType: options.customType,
      ...(options.storeInHistory ? { storeInHistory: true } : {}),
    })
    return { ...result, channelName }
  }

  /** A stream channel instance (seed 000 createStreamChannel); join it to use topics. */
  createStreamChannel(channelName: string): StreamChannel {
    return this.streams.create(channelName)
  }

  addEventListener<K extends keyof RtmEventMap>(name: K, listener: (event: RtmEventMap[K]) => void): void {
    this.events.on(name, listener)
  }

  removeEventListener<K extends keyof RtmEventMap>(name: K, listener: (event: RtmEventMap[K]) => void): void {
    this.events.off(name, listener)
  }

  /** Releases the client: closes the link and drops every listener. */
  release(): void {
    this.connection.destroy()
    this.ice.stop()
    this.events.clear()
    // A transport this client created (tabs, mesh) also leaves its election.
    if (typeof this.config.transport !== 'object') void (this.transport as Transport & { destroy?(): Promise<void> }).destroy?.()
  }

  /** For SDK modules (stream channels, storage, locks): one request with the `timestamp` convention. */
  async request(op: string, args: Record<string, unknown>, timeoutMs?: number | null): Promise<Record<string, unknown> & { timestamp: number }> {
    return stamp(await this.connection.request(op, args, timeoutMs))
  }

  /** For SDK modules: the payload as it goes on the wire (encrypted when configured). */
  async seal(message: string | Uint8Array): Promise<string | Uint8Array> {
    return this.cipher ? this.cipher.seal(message) : message
  }

  /** For SDK modules: deliver a wire event of a kind this class does not know to listeners. */
  emit<K extends keyof RtmEventMap>(name: K, payload: RtmEventMap[K]): void {
    this.events.emit(name, payload)
  }

  /** For SDK modules: run `restorer` after each reconnect; returns a function that unregisters it. */
  addRestorer(restorer: Restorer): () => void {
    this.restorers.add(restorer)
    return () => this.restorers.delete(restorer)
  }

  private dispatch(event: ServerEvent): void {
    switch (event.kind) {
      case 'message': return this.streams.accepts(event as WireMessage) ? this.recovery.receive(event as WireMessage) : undefined
      case 'presence': return this.events.emit('presence', toPresenceEvent(event as WirePresence))
      case 'tokenPrivilegeWillExpire':
        return this.events.emit('tokenPrivilegeWillExpire', { channelName: event.channelName, timestamp: event.timestamp })
      default:
        this.wireHandlers.get(event.kind)?.(event)
    }
  }

  private receiveMessage(wire: WireMessage, recovered: boolean): void {
    if (!this.cipher) return this.events.emit('message', toMessageEvent(wire, recovered))
    this.afterInbound(async () => {
      const message = await this.open(wire.message)
      this.events.emit('message', toMessageEvent({ ...wire, message, messageType: typeof message === 'string' ? 1 : 0 }, recovered))
    })
  }

  /** Runs `step` after the messages before it: at once without encryption, else in line behind their decryption. */
  private afterInbound(step: () => void | Promise<void>): void {
    if (this.cipher) this.inbound = this.inbound.then(step)
    else void step()
  }

  /** A payload as it was published: opened when sealed with our key, else as it came (a plain sender, another key). */
  private async open(message: string | Uint8Array): Promise<string | Uint8Array> {
    const payload = (message as unknown) instanceof ArrayBuffer ? new Uint8Array(message as unknown as ArrayBuffer) : message
    return this.cipher ? (await this.cipher.open(payload)) ?? payload : payload
  }

  /** After a reconnect: a coordinator that kept the session needs nothing; a new one gets our channels back. */
  private async restore(resumed: boolean): Promise<string[]> {
    const unrestored: string[] = []
    if (!resumed) {
      for (const [channelName, options] of this.subscriptions) {
        await this.connection.requestNow('subscribe', { channelName, ...options }).catch(() => unrestored.push(channelName))
      }
      await this.presence.restoreStates((op, args) => this.connection.requestNow(op, args))
    }
    // Messages published while we were away, before any new one; subscriptions without messages have none to recover.
    const withMessages = [...this.subscriptions].filter(([name, options]) => options.withMessage !== false && !unrestored.includes(name))
    await this.recovery.recover(withMessages.map(([name]) => name))
    for (const restorer of this.restorers) unrestored.push(...(await restorer(resumed).catch(() => [])))
    return unrestored
  }
}

function stamp<T extends Record<string, unknown>>(result: T): T & { timestamp: number } {
  return { ...result, timestamp: Date.now() }
}
