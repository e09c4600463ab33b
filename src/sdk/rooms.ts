import {
  ACTION_SIGNALS, ROOM_CODES, ROOM_HEARTBEAT_INTERVAL_MS, roomCodeName,
  type ForwardedSignal, type ListCause, type Role, type RoomAck, type RoomAction, type RoomMember, type RoomSession, type RoomType,
} from '../protocol/room-codes'
import type { RTM } from './client'
import { roomCodeCategory } from '../protocol/network-errors'
import { Emitter } from './events'
import { openLocalMedia, stopTracks } from './media/local-media'
import { RoomDispatcher, type AddressedRoomMessage } from './room-dispatcher'
import type { PeerSignal } from './room-media'
import { MeshRoomMedia, type MediaLink, type RoomEngine, type RoomMediaEngine, type RoomMediaEngineIo } from './room-engine'
import { SfuRoomMedia } from './room-sfu-media'
import type { LayerRid } from '../protocol/sfu'
import { Playback } from './media/playback'
import { DEFAULT_STATS_INTERVAL_MS } from './media/stats/monitor'
import { coordinatorLinkWords, DIAGNOSE_REPLY, DIAGNOSE_REQUEST, diagnosisReport, FieldRequests, type MediaEnd } from './media/stats/link-diagnosis'
import type { DiagnosisReport } from './media/stats/types'
import type { JoinOptions, JoinResult, RoomClientOptions, RoomEventMap, RoomRequest, RoomState, RoomTarget } from './room-types'
import { adminOf, codeOf, isCandidate, isSdp, newSessionId } from './room-wire'

export type { JoinOptions, JoinResult, RoomClientOptions, RoomEventMap, RoomRequest, RoomState, RoomTarget } from './room-types'

/** The SFU's offer of our receive connection in a JOIN ack (`es.sdps`), if it is ours. */
function sfuOffer(es: unknown, sessionId: string): string | undefined {
  const sdps = (es as { sdps?: { id?: unknown; sdp?: unknown } } | undefined)?.sdps
  return sdps?.id === sessionId && typeof sdps.sdp === 'string' ? sdps.sdp : undefined
}

/** Our session in a room, from join until we are out. */
interface Session {
  rid: string
  ch: RoomType
  /** As the coordinator recorded it (the JOIN ack's `ss`) once joined. */
  ss: RoomSession
  /** The room's media engine: asked for when creating, then as the JOIN ack answered. */
  eg: RoomEngine
  ve: boolean
  ae: boolean
}

type Requester = (args: Record<string, unknown>) => Promise<Record<string, unknown>>

/**
 * The codes that mean our session is no longer in the room (the coordinator restarted, or timed us out).
 * A function, not a module-level Set: the bundler counts `new Set` at the top as a side effect, which kept
 * the rooms SDK and the media layer in the page's first download.
 */
function gone(code: number): boolean {
  return code === ROOM_CODES.ROOM_NOT_FOUND || code === ROOM_CODES.NOT_ROOM_MEMBER
}

/**
 * A session in a seed 003 room, through any RTM transport (native op `room`), with the
 * room's media: as a publisher we send our camera (or `options.stream`) to every member on
 * its own peer connection, and we receive every other publisher's stream. Rejoins after a
 * reconnect (recreating the room if the coordinator forgot it), heartbeats while joined,
 * leaves when the page goes. Several RoomClients may share one RTM (a screen share is a
 * second one, `category: 'screenshare'`, with `stream`).
 *
 * @example
 * const room = new RoomClient(rtm)
 * room.on('remoteStream', ({ sessionId, stream }) => show(sessionId, stream))
 * const { role } = await room.join({ rid: 'standup', ch: 'm2m', roomCreating: true })
 * await room.update({ ae: false }) // mute
 */
export class RoomClient {
  private state: RoomState = 'unjoined'
  private session: Session | null = null
  private list: RoomMember[] = []
  private myRole: Role | null = null
  private adminSession: string | null = null
  /** Stamps each join; a reply for an older one (we left meanwhile) is dropped. */
  private generation = 0
  private rejoining: Promise<void> | null = null
  /** The latest list push that came while we were joining: applied after the JOIN ack. */
  private listAfterJoin: Record<string, unknown> | null = null
  private opening: Promise<void> | null = null
  private mediaFailed = false
  private heartbeat: ReturnType<typeof setInterval> | null = null
  private nextBid = 1
  private readonly events = new Emitter<RoomEventMap>()
  /** Mesh or SFU, as the JOIN ack's `eg` says (a mesh until then). */
  private media: RoomMediaEngine
  private readonly fieldRequests = new FieldRequests()
  private readonly playback = new Playback(
    (stream) => {
      const sessionId = [...this.media.remoteStreams].find(([, each]) => each === stream)?.[0]
      const member = sessionId === undefined ? undefined : this.list.find((each) => each.sessionId === sessionId)
      return member ? { srcUserId: member.userId, streamId: 0 } : null
    },
    (event) => this.events.emit('autoplay', event),
  )
  private readonly dispatcher: RoomDispatcher
  private readonly offs: (() => void)[] = []
  private readonly onLink = (event: { currentState: string }) => {
    // Logged out, or replaced by another login: our room sessions went with the session.
    if (event.currentState === 'IDLE' || event.currentState === 'FAILED') this.teardown()
    // Until our rejoin, which opens new connections to everyone we send to.
    else if (event.currentState === 'DISCONNECTED' || event.currentState === 'SUSPENDED') this.media.pause()
  }
  /** A closing or reloading page takes its peer connections with it: leave now rather than time out. */
  private readonly onPageHide = () => { void this.leave().catch(() => undefined) }

  constructor(private readonly rtm: RTM, private readonly options: RoomClientOptions = {}) {
    this.media = new MeshRoomMedia(this.mediaIo)
    this.dispatcher = RoomDispatcher.of(rtm)
    this.offs.push(this.dispatcher.add({ receive: (addressed) => this.receive(addressed), session: () => this.sessionId }))
    rtm.addEventListener('linkState', this.onLink)
    this.offs.push(() => rtm.removeEventListener('linkState', this.onLink))
    globalThis.addEventListener?.('pagehide', this.onPageHide)
    this.offs.push(() => globalThis.removeEventListener?.('pagehide', this.onPageHide))
    // A reconnect is a new connection: JOIN again with the same session (before queued requests are resent).
    this.offs.push(rtm.addRestorer(async () => {
      if (this.state === 'joined') await this.rejoin((args) => this.rtm.connection.requestNow('room', args))
      return []
    }))
  }

  get roomState(): RoomState { return this.state }
  get members(): RoomMember[] { return this.list }
  get role(): Role | null { return this.myRole }
  get sessionId(): string | null { return this.session?.ss.sessionId ?? null }
  get rid(): string | null { return this.session?.rid ?? null }
  /** The admin's sessionId. */
  get admin(): string | null { return this.adminSession }
  get localStream(): MediaStream | null { return this.media.local }
  /** How the room's media travels (the JOIN ack's `eg`): `native` mesh or `sfu`; null outside a room. */
  get engine(): RoomEngine | null { return this.session ? this.media.engine : null }
  /** Each publisher's stream, by its sessionId. */
  get remoteStreams(): Map<string, MediaStream> { return this.media.remoteStreams }

  on<K extends keyof RoomEventMap>(name: K, listener: (event: RoomEventMap[K]) => void): () => void {
    this.events.on(name, listener)
    return () => this.events.off(name, listener)
  }

  /**
   * Joins (or with `roomCreating`, creates) room `rid`. Rejects with
   * `{ errorCode, name, reason, operation: 'room' }` on an error ack (4001 no such room, 4022
   * it exists, 2002 full or another type…).
   */
  async join(options: JoinOptions): Promise<JoinResult> {
    if (this.state !== 'unjoined') throw new Error(`already ${this.state} room ${this.session?.rid}`)
    const ss: RoomSession = {
      userId: this.rtm.userId, sessionId: options.sessionId ?? newSessionId(), category: options.category ?? 'stream',
      host: this.options.host ?? 'Web', deviceId: this.options.deviceId ?? '',
    }
    const session: Session = { rid: options.rid, ch: options.ch, ss, eg: options.eg ?? 'native', ve: options.ve ?? true, ae: options.ae ?? true }
    const generation = ++this.generation
    this.session = session
    this.mediaFailed = false
    this.setState('joining')
    let ack: RoomAck
    try {
      ack = await this.joinRequest(session, options.roomCreating ?? false, (args) => this.rtm.request('room', args))
    } catch (error) {
      if (generation === this.generation) this.teardown()
      throw error
    }
    if (generation !== this.generation) {
      // We left (or were destroyed) while it was on its way: the session we got goes again.
      void this.send('leave', {}, session).catch(() => undefined)
      throw new Error('left the room while joining')
    }
    return this.joined(session, ack, false)
  }

  /** Leaves the room: our connections close at once; resolves when the coordinator confirmed. */
  async leave(): Promise<void> {
    const session = this.session
    if (!session) return
    const joining = this.state === 'joining' && !this.rejoining
    this.teardown()
    if (joining) return // the join's answer sends the LEAVE
    await this.send('leave', {}, session).catch((error: unknown) => {
      if (!gone(codeOf(error))) throw error // already out is out
    })
  }

  /** Turns our video / audio on or off: our tracks at once, then the list (seed 003 UPDATE; publishers only, else 4051). */
  async update(change: { ve?: boolean; ae?: boolean }): Promise<void> {
    const session = this.joinedSession()
    if (change.ve !== undefined) session.ve = change.ve
    if (change.ae !== undefined) session.ae = change.ae
    this.enableTracks()
    const fields: Record<string, unknown> = {}
    if (change.ve !== undefined) fields.ve = change.ve
    if (change.ae !== undefined) fields.ae = change.ae
    await this.send('updateVideo', fields, session)
  }

  /** (admin) Removes a session, or every session of a userId. */
  async kick(to: RoomTarget): Promise<void> {
    await this.send('kick', { to }, this.joinedSession())
  }

  /** (viewer) Asks the admin to let us publish; the answer comes as publishAccepted / publishRejected. */
  async requestPublish(options: { msg?: string } = {}): Promise<void> {
    const session = this.joinedSession()
    await this.send('publishRequest', { ve: session.ve, ae: session.ae, ...(options.msg === undefined ? {} : { msg: options.msg }) }, session)
  }

  /** (admin) Lets a session (or every session of a userId) publish. */
  async accept(to: RoomTarget): Promise<void> {
    await this.send('publishAccept', { to }, this.joinedSession())
  }

  /** (admin) Declines a publish request. */
  async reject(to: RoomTarget): Promise<void> {
    await this.send('publishReject', { to }, this.joinedSession())
  }

  /**
   * (SFU room) Asks the SFU to forward this layer of a publisher's video (`auto`: the SFU
   * chooses by our bandwidth). The `layer` event says when it does.
   */
  async setLayer(sessionId: string, layer: LayerRid | 'auto'): Promise<void> {
    this.joinedSession()
    if (!(this.media instanceof SfuRoomMedia)) throw new Error('layers exist in SFU rooms only')
    await this.media.setLayer(sessionId, layer)
  }

  /** (SFU room) The layer of a publisher's video the SFU forwards us now, as it last said. */
  layerOf(sessionId: string): LayerRid | null {
    return this.media instanceof SfuRoomMedia ? this.media.layers.get(sessionId) ?? null : null
  }

  /** Leaves (if in a room) and stops listening; the RTM client stays usable. */
  destroy(): void {
    void this.leave().catch(() => undefined)
    for (const off of this.offs.splice(0)) off()
    this.events.clear()
  }

  private joinRequest(session: Session, roomCreating: boolean, request: Requester): Promise<RoomAck> {
    return this.send('join', { ve: session.ve, ae: session.ae, eg: session.eg, op: { roomCreating } }, session, request)
  }

  /** The JOIN ack: we are in, with this list and role; our media follows. */
  private joined(session: Session, ack: RoomAck, again: boolean): JoinResult {
    const b = ack.b
    const recorded = b.ss as RoomSession | undefined
    if (recorded && typeof recorded.sessionId === 'string') session.ss = { ...session.ss, ...recorded }
    const members = Array.isArray(b.pps) ? (b.pps as RoomMember[]) : []
    const role = (b.pt as Role | undefined) ?? members.find((member) => member.sessionId === session.ss.sessionId)?.role ?? 'viewer'
    const icfg = (b.es as { icfg?: { is?: unknown } } | undefined)?.icfg
    const iceUrls = Array.isArray(icfg?.is) ? icfg.is.filter((url): url is string => typeof url === 'string') : []
    const offer = sfuOffer(b.es, session.ss.sessionId)
    // The ack's engine, whatever we asked for: a relay without an SFU answers 'native'.
    session.eg = b.eg === 'sfu' ? 'sfu' : 'native'
    this.useEngine(session.eg)
    this.setState('joined')
    this.setList(members, 'join', adminOf(members))
    this.setRole(role)
    this.startHeartbeat()
    this.syncMedia(again, offer)
    // On this connection, pushes come only once we are a member: one that came meanwhile is newer than the ack.
    const later = this.listAfterJoin
    this.listAfterJoin = null
    if (later) this.listChanged(later)
    return { rid: session.rid, role, members: this.list, sessionId: session.ss.sessionId, iceUrls, engine: session.eg }
  }

  /**
   * JOINs again with the same session (after a reconnect, or when the coordinator forgot
   * us). A room that is gone (the coordinator restarted) is recreated; one recreated by
   * another member meanwhile is joined.
   */
  private rejoin(request: Requester): Promise<void> {
    this.rejoining ??= (async () => {
      const session = this.session
      const generation = this.generation
      if (!session) return
      this.setState('joining')
      try {
        let creating = false
        for (let tries = 0; ; tries++) {
          try {
            const ack = await this.joinRequest(session, creating, request)
            if (generation === this.generation) this.joined(session, ack, true)
            return
          } catch (error) {
            const code = codeOf(error)
            if (tries >= 2 || (code !== ROOM_CODES.ROOM_NOT_FOUND && code !== ROOM_CODES.ALREADY_EXIST_ROOM)) throw error
            creating = code === ROOM_CODES.ROOM_NOT_FOUND
          }
        }
      } catch (error) {
        if (generation !== this.generation) return
        this.report(error)
        this.teardown()
      }
    })().finally(() => { this.rejoining = null })
    return this.rejoining
  }

  private receive({ rid, msg }: AddressedRoomMessage): void {
    const session = this.session
    if (!session || rid !== session.rid) return
    this.events.emit('message', { direction: 'in', msg })
    if ('c' in msg) {
      const { s, b } = msg as RoomAck
      if (s === 'PUBLISH_LIST_CHANGED') {
        if (this.state === 'joined') return this.listChanged(b)
        // Not yet: a push can overtake our handling of the JOIN ack it follows (both came in one
        // read), and dropping it left the list without whoever joined next. It goes after the ack.
        this.listAfterJoin = b
        return
      }
      if (s === 'KICK' && b.id === session.ss.sessionId) {
        this.teardown()
        this.events.emit('kicked', { rid })
      }
      return
    }
    const signal = msg as ForwardedSignal
    const from = signal.ss
    switch (signal.s) {
      case 'PUBLISH_REQUEST':
        return this.events.emit('publishRequest', {
          from, ve: signal.ve !== false, ae: signal.ae !== false, ...(typeof signal.msg === 'string' ? { msg: signal.msg } : {}),
        })
      case 'PUBLISH_ACCEPT': return this.events.emit('publishAccepted', { by: from })
      case 'PUBLISH_REJECT': return this.events.emit('publishRejected', { by: from })
      case 'OFFER':
        // A screen share only sends; publishers never offer to it.
        if (session.ss.category === 'screenshare' || !isSdp(signal.sdp)) return
        return this.media.offer(from, signal.sdp)
      case 'ANSWER':
        if (isSdp(signal.sdp)) this.media.answer(from, signal.sdp)
        return
      case 'CANDIDATE':
        if ((signal.side === 'publisher' || signal.side === 'subscriber') && isCandidate(signal.candidate)) this.media.candidate(from, signal.side, signal.candidate)
        return
      case 'NOTIFY': {
        if (typeof signal.type === 'string' && this.media.notify(from, signal.type, signal.data)) return
        // A member asks for our send side to it, or answers our request.
        const ourEnd = () => this.mediaEnd(this.media.sendingTo(from.sessionId), this.media.local?.getVideoTracks()[0] ?? null)
        const reply = (data: unknown) => this.peerSignal({ sessionId: from.sessionId, userId: from.userId }, { action: 'notify', type: DIAGNOSE_REPLY, data })
        if (typeof signal.type === 'string') this.fieldRequests.received(signal.type, signal.data, ourEnd, reply)
        return
      }
    }
  }

  private listChanged(b: Record<string, unknown>): void {
    if (!Array.isArray(b.pps)) return
    const members = b.pps as RoomMember[]
    const admin = typeof b.admin === 'string' ? b.admin : adminOf(members)
    const adminChanged = b.adminChanged as { from: string; to: string } | undefined
    this.setList(members, (b.cause as ListCause | undefined) ?? 'update', admin, adminChanged)
    // Not listed: timed out (the next heartbeat's 4002 joins again) or kicked (its KICK ends the session).
    const me = members.find((member) => member.sessionId === this.sessionId)
    if (me) this.setRole(me.role)
    this.syncMedia(false)
  }

  /** Opens or releases our media as our role says, then opens and closes peer connections as the list says. */
  private syncMedia(rejoined: boolean, offer?: string): void {
    const session = this.session
    if (!session || this.state !== 'joined') return
    const me = this.list.find((member) => member.sessionId === session.ss.sessionId)
    const publishes = me?.publish ?? (this.myRole === 'admin' || this.myRole === 'publisher')
    if (publishes && !this.media.local && !this.mediaFailed) this.openMedia()
    if (!publishes && this.media.local) this.releaseMedia()
    const self = { sessionId: session.ss.sessionId, category: session.ss.category, sending: publishes }
    this.media.sync({ members: this.list, self, own: this.dispatcher.ownSessions(), ...(offer === undefined ? {} : { offer }) }, rejoined)
  }

  /** The engine the JOIN ack named; our camera, if open, moves to a new one. */
  private useEngine(engine: RoomEngine): void {
    if (this.media.engine === engine) return
    const local = this.media.local
    this.media.closeAll()
    this.media = engine === 'sfu' ? new SfuRoomMedia(this.mediaIo) : new MeshRoomMedia(this.mediaIo)
    this.media.local = local
  }

  private get mediaIo(): RoomMediaEngineIo {
    return {
      configuration: () => this.rtm.ice.configuration(this.options),
      signal: (to, signal) => this.peerSignal(to, signal),
      member: (sessionId) => this.list.find((member) => member.sessionId === sessionId),
      remoteStream: (event) => this.events.emit('remoteStream', event),
      connectionState: (event) => this.events.emit('connectionState', event),
      failed: (error) => this.report(error),
      statsIntervalMs: this.options.statsIntervalMs ?? DEFAULT_STATS_INTERVAL_MS,
      stats: (sample) => this.events.emit('stats', sample),
      layer: (event) => this.events.emit('layer', event),
      rejoin: () => { if (this.state === 'joined') void this.rejoin((args) => this.rtm.request('room', args)) },
    }
  }

  private openMedia(): void {
    if (this.opening) return
    const generation = this.generation
    const given = this.options.stream
    this.opening = (given ? Promise.resolve(given) : openLocalMedia(this.options.media)).then((stream) => {
      this.opening = null
      if (generation !== this.generation) return given ? undefined : stopTracks(stream) // left meanwhile
      this.media.local = stream
      this.enableTracks()
      this.events.emit('localStream', { stream })
      this.syncMedia(false)
    }, (error: unknown) => {
      this.opening = null
      if (generation !== this.generation) return
      this.mediaFailed = true
      this.events.emit('error', { code: 0, name: 'MEDIA', category: null, message: `cannot open the camera: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}` })
    })
  }

  private releaseMedia(): void {
    const local = this.media.local
    this.media.stopSending()
    this.media.local = null
    if (!local) return
    if (local !== this.options.stream) stopTracks(local)
    this.events.emit('localStream', { stream: null })
  }

  private enableTracks(): void {
    const session = this.session
    if (!session) return
    for (const track of this.media.local?.getVideoTracks() ?? []) track.enabled = session.ve
    for (const track of this.media.local?.getAudioTracks() ?? []) track.enabled = session.ae
  }

  /** Out of the room, whatever the reason: no heartbeats, connections closed, our camera off. */
  private teardown(): void {
    this.generation++
    this.listAfterJoin = null
    this.fieldRequests.clear()
    this.stopHeartbeat()
    this.media.closeAll()
    this.releaseMedia()
    const had = this.session !== null
    this.session = null
    this.myRole = null
    this.adminSession = null
    if (had && this.list.length > 0) {
      this.list = []
      this.events.emit('members', { members: [], cause: 'leave', admin: null })
    }
    this.list = []
    this.setState('unjoined')
  }

  /**
   * Plays a publisher's media in `element` (instead of `element.play()`): when the browser's
   * autoplay policy blocks it, `autoplay` says so (code -1) rather than an error.
   */
  play(element: HTMLMediaElement): Promise<void> {
    return this.playback.play(element)
  }

  /** Call from a click: plays what autoplay blocked (`autoplay` code 0 for each). */
  resumePlayback(): Promise<void> {
    return this.playback.resume()
  }

  /**
   * Seed 001's DiagnosisReport of the media one publisher (`sessionId`, default the first we
   * receive) sends us: our receive side from the last 30 s of stats, and the publisher's send
   * side, asked over the room's NOTIFY (within 3 s, else 'timeout').
   */
  async diagnose(sessionId = this.media.publishers[0]): Promise<DiagnosisReport> {
    const session = this.session
    const link = sessionId === undefined ? null : this.media.receivingFrom(sessionId)
    const member = sessionId === undefined ? undefined : this.list.find((each) => each.sessionId === sessionId)
    const field = link && member
      ? await this.fieldRequests.ask((data) => this.peerSignal({ sessionId: member.sessionId, userId: member.userId }, { action: 'notify', type: DIAGNOSE_REQUEST, data }))
      : null
    return diagnosisReport({
      deviceId: session?.ss.userId ?? '',
      coordinatorLink: coordinatorLinkWords(this.rtm.linkState),
      end: this.mediaEnd(link, null),
      field,
    })
  }

  private mediaEnd(link: MediaLink | null, camera: MediaStreamTrack | null): MediaEnd {
    return { stats: link?.stats ?? null, pc: link?.pc ?? null, signalConnected: this.state === 'joined' && this.rtm.linkState === 'CONNECTED', camera }
  }

  private peerSignal(to: { sessionId: string; userId: string }, signal: PeerSignal): Promise<void> {
    const session = this.session
    if (!session) return Promise.reject(new Error('not in a room'))
    const { action, ...fields } = signal
    return this.send(action, { to, ...fields }, session).then(() => undefined)
  }

  /** One room frame as a native request; resolves with the ack, rejects with the error. */
  private async send(action: RoomAction, fields: Record<string, unknown>, session: Session, request: Requester = (args) => this.rtm.request('room', args)): Promise<RoomAck> {
    const s = ACTION_SIGNALS[action]
    const frame: RoomRequest = { action, data: { s, ch: session.ch, ss: session.ss, rid: session.rid, ...fields } }
    this.events.emit('message', { direction: 'out', msg: frame })
    try {
      const result = await request(frame as unknown as Record<string, unknown>)
      const ack: RoomAck = { c: typeof result.c === 'number' ? result.c : ROOM_CODES.OK, s: typeof result.s === 'string' ? result.s : s, b: (result.b ?? {}) as Record<string, unknown> }
      this.events.emit('message', { direction: 'in', msg: ack })
      return ack
    } catch (error) {
      const info = error as { errorCode?: unknown; reason?: unknown }
      if (typeof info.errorCode === 'number') this.events.emit('message', { direction: 'in', msg: { c: info.errorCode, s, b: { req: frame.data, msg: String(info.reason ?? '') } } })
      throw error
    }
  }

  private startHeartbeat(): void {
    this.stopHeartbeat()
    this.heartbeat = setInterval(() => {
      const session = this.session
      if (!session || this.state !== 'joined' || this.rtm.linkState !== 'CONNECTED') return
      void this.send('heartbeat', { bid: String(this.nextBid++), send_ack: false }, session).catch((error: unknown) => {
        if (session !== this.session) return
        // The coordinator forgot our session (it timed us out, or restarted): join again.
        if (gone(codeOf(error))) void this.rejoin((args) => this.rtm.request('room', args))
        else this.report(error)
      })
    }, this.options.heartbeatIntervalMs ?? ROOM_HEARTBEAT_INTERVAL_MS)
    ;(this.heartbeat as { unref?: () => void }).unref?.() // a Node bot must not stay alive for it
  }

  private stopHeartbeat(): void {
    if (this.heartbeat !== null) clearInterval(this.heartbeat)
    this.heartbeat = null
  }

  private joinedSession(): Session {
    if (!this.session || this.state === 'unjoined') throw new Error('not in a room: join() first')
    return this.session
  }

  private setState(state: RoomState): void {
    if (this.state === state) return
    this.state = state
    this.events.emit('roomState', { state })
  }

  private setList(members: RoomMember[], cause: ListCause, admin: string | null, adminChanged?: { from: string; to: string }): void {
    this.list = members
    this.adminSession = admin
    this.events.emit('members', { members, cause, admin, ...(adminChanged ? { adminChanged } : {}) })
  }

  private setRole(role: Role): void {
    if (this.myRole === role) return
    this.myRole = role
    this.events.emit('role', { role })
  }

  /** A background failure (peer signal, heartbeat, rejoin) as an `error` event; a member gone meanwhile is not one. */
  private report(error: unknown): void {
    const code = codeOf(error)
    if (code === ROOM_CODES.NOT_ROOM_MEMBER) return
    const reason = (error as { reason?: unknown } | null)?.reason
    const name = roomCodeName(code)
    this.events.emit('error', { code, name, category: roomCodeCategory(name, typeof reason === 'string' ? reason : undefined), message: typeof reason === 'string' ? reason : error instanceof Error ? error.message : String(error) })
  }
}
