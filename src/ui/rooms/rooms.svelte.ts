import { RoomClient, type DiagnosisReport, type LayerRid, type RoomEngine, type RTM } from '../../sdk'
import type { Role, RoomMember, RoomSession, RoomType } from '../../protocol/room-codes'
import type { MediaPlayer } from '../shared/play-stream'
import { PlaybackBlocks } from '../shared/quality/playback-blocks.svelte'
import { StatsHistory, type ConnectionHistory } from '../shared/quality/stats-history.svelte'
import { describeRoomProblem, memberLabel, roomLink, type HandState, type RoomAction, type RoomProblem } from './room-words'
import { RoomLobbyForm } from './room-lobby.svelte'
import { ScreenShare, type ScreenShareState } from './screen-share.svelte'
import { SpeakerDetector } from './speaker.svelte'

/** Seed 001 RoomState, as RoomClient reports it. */
export type RoomStateName = 'unjoined' | 'joining' | 'joined'

/** A viewer's raised hand, waiting for the host's answer. */
export interface RaisedHand { session: RoomSession; name: string; ve: boolean; ae: boolean }

/** One tile of the video grid: a member who publishes, with the stream we have of them. */
export interface Tile {
  member: RoomMember
  stream: MediaStream | null
  /** Ours (camera preview or our own screen): muted; the camera preview is mirrored. */
  own: 'camera' | 'screen' | null
  speaking: boolean
  /** Someone else's media: its stats (last 2 minutes, quality), once measured. */
  stats: ConnectionHistory | null
  /** The browser blocked its playback until a click. */
  blocked: boolean
  /** SFU room: the layer of their video the server forwards us (null: not said, or a mesh room). */
  layer: LayerRid | null
}

export interface RoomsStateOptions {
  /** The sign-in mode, written into the room link so others connect the same way. */
  mode?: string
  /** The page's query string: `?room=…&type=…` pre-fills the join form. */
  search?: string
  /** The page the room link points at (default this page). */
  page?: () => string
  /** For tests: how RoomClients are made. */
  createClient?: (rtm: RTM, options: ConstructorParameters<typeof RoomClient>[1]) => RoomClient
  speakers?: SpeakerDetector
}

/**
 * The Rooms panel's state: the lobby (create a room by type, or join one by id or link),
 * then the room we are in through the SDK's RoomClient — its state, our role, the member
 * list, everyone's streams, raised hands (the host's queue, or our own hand), our screen
 * share (a second RoomClient) and who is speaking. Components render it and call it.
 */
export class RoomsState {
  readonly form: RoomLobbyForm
  readonly speakers: SpeakerDetector
  /** Each member session's inbound stats, for the tiles' quality badges and stats drawers. */
  readonly stats = new StatsHistory()
  /** Members' media the browser blocked until a click ("Click to play"). */
  readonly playback = new PlaybackBlocks()
  /** Starts a remote tile's playback through the SDK, so a blocked autoplay is reported. */
  readonly player: MediaPlayer = { play: (element) => this.#client?.play(element) ?? element.play() }
  readonly #rtm: RTM
  readonly #mode: string
  readonly #page: () => string
  readonly #create: NonNullable<RoomsStateOptions['createClient']>
  #client: RoomClient | null = null
  #offs: (() => void)[] = []
  #roomState = $state<RoomStateName>('unjoined')
  #rid = $state<string | null>(null)
  #type = $state<RoomType | null>(null)
  #engine = $state<RoomEngine | null>(null)
  #layers = $state.raw<ReadonlyMap<string, LayerRid>>(new Map())
  #role = $state<Role | null>(null)
  #sessionId = $state<string | null>(null)
  #admin = $state<string | null>(null)
  #members = $state.raw<RoomMember[]>([])
  #localStream = $state.raw<MediaStream | null>(null)
  #remoteStreams = $state.raw<ReadonlyMap<string, MediaStream>>(new Map())
  #connection = $state.raw<ReadonlyMap<string, string>>(new Map())
  #hands = $state.raw<RaisedHand[]>([])
  #hand = $state<HandState>('down')
  #problem = $state<RoomProblem | null>(null)
  #notice = $state<string | null>(null)
  #busy = $state<RoomAction | null>(null)
  #screen: ScreenShare | null = null
  #screenState = $state<ScreenShareState>('off')
  #screenStream = $state.raw<MediaStream | null>(null)
  #screenSessionId = $state<string | null>(null)

  constructor(rtm: RTM, options: RoomsStateOptions = {}) {
    this.#rtm = rtm
    this.#mode = options.mode ?? 'relay'
    this.#page = options.page ?? (() => globalThis.location?.href ?? 'http://localhost/')
    this.#create = options.createClient ?? ((client, clientOptions) => new RoomClient(client, clientOptions))
    this.form = new RoomLobbyForm(options.search ?? globalThis.location?.search ?? '')
    this.speakers = options.speakers ?? new SpeakerDetector()
  }

  get roomState(): RoomStateName { return this.#roomState }
  get inRoom(): boolean { return this.#rid !== null }
  get rid(): string | null { return this.#rid }
  get type(): RoomType | null { return this.#type }
  /** How the room's video travels, as the server answered our join. */
  get engine(): RoomEngine | null { return this.#engine }
  get role(): Role | null { return this.#role }
  get sessionId(): string | null { return this.#sessionId }
  get members(): RoomMember[] { return this.#members }
  /** The member we are (our camera session), once listed. */
  get me(): RoomMember | null { return this.#members.find((member) => member.sessionId === this.#sessionId) ?? null }
  get isAdmin(): boolean { return this.#sessionId !== null && this.#admin === this.#sessionId }
  /** We may send media: mute toggles and screen share apply. */
  get publishes(): boolean { return this.me?.publish ?? (this.#role === 'admin' || this.#role === 'publisher') }
  get audioOn(): boolean { return this.me?.audio ?? true }
  get videoOn(): boolean { return this.me?.video ?? true }
  get localStream(): MediaStream | null { return this.#localStream }
  get remoteStreams(): ReadonlyMap<string, MediaStream> { return this.#remoteStreams }
  /** The state of the connection a member's media arrives on (`connected`, `failed`…), if any. */
  connectionOf(sessionId: string): string | null { return this.#connection.get(sessionId) ?? null }
  /** Raised hands waiting for us, the host. */
  get hands(): RaisedHand[] { return this.#hands }
  /** Our own raised hand. */
  get hand(): HandState { return this.#hand }
  get problem(): RoomProblem | null { return this.#problem }
  /** Something that happened to us: removed by the host, made host, left. */
  get notice(): string | null { return this.#notice }
  /** The action in flight, if any (its button shows it and the others wait). */
  get busy(): RoomAction | null { return this.#busy }
  get screenState(): ScreenShareState { return this.#screenState }
  get screenSessionId(): string | null { return this.#screenSessionId }
  get speaker(): string | null { return this.speakers.speaker }

  /** The link that brings others into this room, or null outside one. */
  get link(): string | null {
    if (!this.#rid || !this.#type) return null
    return roomLink(this.#page(), { rid: this.#rid, type: this.#type }, { appId: this.#rtm.appId, mode: this.#mode })
  }

  /** One tile per member who publishes: ours show our camera or screen, the others' their stream once it arrives. */
  get tiles(): Tile[] {
    const speaker = this.speakers.speaker
    return this.#members.filter((member) => member.publish).map((member) => {
      const own = member.sessionId === this.#sessionId ? 'camera' : member.sessionId === this.#screenSessionId ? 'screen' : null
      const stream = own === 'camera' ? this.#localStream : own === 'screen' ? this.#screenStream : this.#remoteStreams.get(member.sessionId) ?? null
      const stats = own ? null : this.stats.get(member.sessionId)
      const layer = own ? null : this.#layers.get(member.sessionId) ?? null
      return { member, stream, own, speaking: speaker === member.sessionId, stats, blocked: own === null && this.playback.blocks(stream), layer }
    })
  }

  /** Creates a room of the form's type with a fresh id, as its host. */
  create(): Promise<void> {
    return this.#enter(crypto.randomUUID(), this.form.createType, true, this.form.createEngine)
  }

  /** Joins the room the form names (an id or a link). */
  join(): Promise<void> {
    const target = this.form.joinTarget
    if (!target) {
      this.#problem = { message: 'Enter a room id or paste a room link', code: null, name: null }
      return Promise.resolve()
    }
    return this.#enter(target.rid, target.type, false)
  }

  leave(): Promise<void> {
    return this.#run('leave', async () => {
      const screen = this.#screen
      // Releasing the client sends LEAVE (an "already out" answer is no news); the page goes back to the lobby at once.
      this.#teardown('You left the room.')
      await screen?.stop()
    })
  }

  toggleAudio(): Promise<void> {
    return this.#run('update', async () => { await this.#client?.update({ ae: !this.audioOn }) })
  }

  toggleVideo(): Promise<void> {
    return this.#run('update', async () => { await this.#client?.update({ ve: !this.videoOn }) })
  }

  /** The host removes a member's session (seed 003 KICK with `to` an object: that session only). */
  kick(member: RoomMember): Promise<void> {
    return this.#run('kick', async () => { await this.#client?.kick({ sessionId: member.sessionId, userId: member.userId }) })
  }

  raiseHand(): Promise<void> {
    return this.#run('raise-hand', async () => {
      this.#hand = 'pending'
      try {
        await this.#client?.requestPublish({})
      } catch (error) {
        this.#hand = 'down'
        throw error
      }
    })
  }

  accept(hand: RaisedHand): Promise<void> {
    return this.#run('accept', async () => {
      await this.#client?.accept({ sessionId: hand.session.sessionId, userId: hand.session.userId })
      this.#dropHand(hand.session.sessionId)
    })
  }

  reject(hand: RaisedHand): Promise<void> {
    return this.#run('reject', async () => {
      await this.#client?.reject({ sessionId: hand.session.sessionId, userId: hand.session.userId })
      this.#dropHand(hand.session.sessionId)
    })
  }

  /** Shares the screen as a second session of ours (category screenshare): it publishes when we do. */
  shareScreen(): Promise<void> {
    return this.#run('share-screen', async () => {
      const { rid, type, client } = { rid: this.#rid, type: this.#type, client: this.#client }
      if (!rid || !type || !client || this.#screen) return
      const screen = new ScreenShare(this.#rtm, this.#create, {
        state: (state) => { this.#screenState = state },
        stream: (stream) => { this.#screenStream = stream; this.#syncSpeakers() },
        session: (sessionId) => { this.#screenSessionId = sessionId },
        ended: (why) => {
          if (this.#screen === screen) this.#screen = null
          if (why) this.#problem = describeRoomProblem(why, 'share-screen')
        },
      })
      this.#screen = screen
      await screen.start(rid, type)
    })
  }

  stopScreen(): Promise<void> {
    return this.#run('share-screen', async () => { await this.#screen?.stop() })
  }

  /** Checks the media `sessionId` sends us, both ends (a few seconds: that member reports its send side). */
  diagnose(sessionId: string): Promise<DiagnosisReport> {
    const client = this.#client
    return client ? client.diagnose(sessionId) : Promise.reject(new Error('not in a room'))
  }

  /** From a click: plays what the browser's autoplay policy held back. */
  async resumePlayback(): Promise<void> {
    await this.#client?.resumePlayback()
  }

  dismissNotice(): void {
    this.#notice = null
  }

  dismissProblem(): void {
    this.#problem = null
  }

  destroy(): void {
    void this.#screen?.stop()
    this.#teardown(null)
    this.speakers.destroy()
  }

  async #enter(rid: string, type: RoomType, roomCreating: boolean, eg?: RoomEngine): Promise<void> {
    if (this.#client) return
    await this.#run(roomCreating ? 'create' : 'join', async () => {
      this.#notice = null
      const client = this.#create(this.#rtm, { host: 'Web' })
      this.#client = client
      this.#listen(client)
      this.#rid = rid
      this.#type = type
      try {
        const joined = await client.join({ rid, ch: type, roomCreating, ...(eg ? { eg } : {}) })
        if (this.#client !== client) return // left or destroyed while joining
        this.#sessionId = joined.sessionId
        this.#role = joined.role
        this.#engine = joined.engine
        this.#members = joined.members
        this.#admin = client.admin
        this.#roomState = client.roomState
      } catch (error) {
        if (this.#client === client) this.#teardown(null)
        throw error
      }
    })
  }

  #listen(client: RoomClient): void {
    this.#offs = [
      client.on('roomState', ({ state }) => {
        const was = this.#roomState
        this.#roomState = state
        // Out without leaving: a kick says so itself (its event follows at once); anything else (a failed rejoin) is said here.
        if (state === 'unjoined' && was === 'joined') {
          queueMicrotask(() => { if (this.#client === client) this.#teardown('You are no longer in the room: the connection to it was lost.') })
        }
      }),
      client.on('members', ({ members, admin, adminChanged }) => {
        this.#members = members
        this.#admin = admin
        if (adminChanged && adminChanged.to === this.#sessionId) this.#notice = 'The host left: you are the host now.'
        // A raised hand goes once its session left or already speaks.
        this.#hands = this.#hands.filter((hand) => members.some((member) => member.sessionId === hand.session.sessionId && !member.publish))
        for (const sessionId of this.stats.connections.keys()) {
          if (!members.some((member) => member.sessionId === sessionId)) this.stats.forget(sessionId)
        }
        this.#syncSpeakers()
      }),
      client.on('role', ({ role }) => {
        this.#role = role
        if (role !== 'viewer' && this.#hand === 'pending') this.#hand = 'accepted'
      }),
      client.on('kicked', () => {
        void this.#screen?.stop()
        this.#teardown('The host removed you from the room.')
      }),
      client.on('publishRequest', ({ from, ve, ae }) => {
        if (this.#hands.some((hand) => hand.session.sessionId === from.sessionId)) return
        const member = this.#members.find((m) => m.sessionId === from.sessionId)
        this.#hands = [...this.#hands, { session: from, name: member ? memberLabel(member) : from.userId, ve, ae }]
      }),
      client.on('publishAccepted', () => { this.#hand = 'accepted' }),
      client.on('publishRejected', () => { this.#hand = 'rejected' }),
      client.on('localStream', ({ stream }) => {
        this.#localStream = stream
        this.#syncSpeakers()
      }),
      client.on('remoteStream', ({ sessionId, stream }) => {
        const next = new Map(this.#remoteStreams)
        if (stream) next.set(sessionId, stream)
        else {
          next.delete(sessionId)
          this.stats.forget(sessionId)
        }
        this.#remoteStreams = next
        this.#syncSpeakers()
      }),
      client.on('connectionState', ({ sessionId, state, direction }) => {
        // The tiles show how their video arrives.
        if (direction === 'receive') this.#connection = new Map(this.#connection).set(sessionId, state)
      }),
      client.on('stats', (sample) => { if (this.#members.some((member) => member.sessionId === sample.sessionId)) this.stats.add(sample) }),
      client.on('autoplay', (event) => this.playback.apply(event)),
      client.on('layer', ({ sessionId, layer }) => { this.#layers = new Map(this.#layers).set(sessionId, layer) }),
      client.on('error', (error) => { this.#problem = describeRoomProblem(error, 'signal') }),
    ]
  }

  /** Runs a button's action: one at a time, the previous problem cleared, a failure shown in words. */
  async #run(action: RoomAction, work: () => Promise<void>): Promise<void> {
    if (this.#busy) return
    this.#busy = action
    this.#problem = null
    try {
      await work()
    } catch (error) {
      this.#problem = describeRoomProblem(error, action)
    } finally {
      this.#busy = null
    }
  }

  #dropHand(sessionId: string): void {
    this.#hands = this.#hands.filter((hand) => hand.session.sessionId !== sessionId)
  }

  /** Every stream we hear, measured for the speaker highlight; ours only while our mic is on. */
  #syncSpeakers(): void {
    const streams = new Map<string, MediaStream | null>()
    for (const [sessionId, stream] of this.#remoteStreams) {
      if (sessionId !== this.#screenSessionId) streams.set(sessionId, stream)
    }
    if (this.#sessionId && this.#localStream) streams.set(this.#sessionId, this.#localStream)
    this.speakers.sync(streams)
  }

  /** Back to the lobby: the client released, the room forgotten, `notice` saying why. */
  #teardown(notice: string | null): void {
    for (const off of this.#offs.splice(0)) off()
    const client = this.#client
    this.#client = null
    client?.destroy()
    this.#screen = null
    this.#roomState = 'unjoined'
    this.#rid = this.#type = this.#role = this.#sessionId = this.#admin = this.#engine = null
    this.#layers = new Map()
    this.#members = []
    this.#localStream = null
    this.#remoteStreams = new Map()
    this.#connection = new Map()
    this.stats.clear()
    this.playback.clear()
    this.#hands = []
    this.#hand = 'down'
    this.#screenState = 'off'
    this.#screenStream = null
    this.#screenSessionId = null
    this.speakers.stop()
    if (notice !== null) this.#notice = notice
  }
}
