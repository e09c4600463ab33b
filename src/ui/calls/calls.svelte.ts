import { isMediaError, type UserError } from '../shared/errors'
import { CallClient, type CallClientOptions, type CallInfo, type CandidateInfo, type ConnectionState, type RTM, type SelectedPair, type SignalingState, type DiagnosisReport } from '../../sdk'
import { Actions } from '../shared/actions.svelte'
import type { MediaPlayer } from '../shared/play-stream'
import { PlaybackBlocks } from '../shared/quality/playback-blocks.svelte'
import { StatsHistory, type ConnectionHistory } from '../shared/quality/stats-history.svelte'
import { callErrorWords, callStatus, endReasonText, explainCallError, personState, type PersonState } from './call-words'
import { Ringer } from './ringer.svelte'
import { VideoLiveness } from './video-liveness.svelte'

/** A state the ICE panel lists, with when it was reached (ms since the call started ringing). */
export interface StateChange<S> { state: S; detail: string; at: number }

/** How often the call duration redraws. */
export const DURATION_TICK_MS = 500
/** How long other panels say why the last call ended. */
export const ENDED_NOTICE_MS = 8_000
/** The `notify` type by which the parties of a call tell each other their camera is on or off. */
export const CAMERA_NOTICE = 'signal-kit.camera'

/** Refusals that `call()` reports as a call ended `busy` rather than as an error. */
const BUSY_ERRORS: ReadonlySet<string> = new Set(['OPPONENT_BUSY', 'BUSY'])

/** Someone in the people list, with their state in words. */
export interface Person extends PersonState { sId: string; state: 'WAIT' | 'CALLING' }

/**
 * The Calls panel's state: who can be called, the call in progress, both video streams,
 * the ICE exchange (local and remote candidates) and the connection/signaling states as
 * they change. Everything comes from the SDK's CallClient; components only render it.
 * It also rings (the `ringer`) while a call waits for an answer, whatever panel is open.
 */
export class CallsState {
  readonly client: CallClient
  readonly ringer: Ringer
  /** The call's inbound stats (last 2 minutes) for the quality badge and the stats drawer. */
  readonly stats = new StatsHistory()
  /** Remote media the browser blocked until a click ("Click to play"). */
  readonly playback = new PlaybackBlocks()
  /** Starts the remote tile's playback through the SDK, so a blocked autoplay is reported. */
  readonly player: MediaPlayer
  #sId = $state<string | null>(null)
  #clients = $state<{ sId: string; state: 'WAIT' | 'CALLING' }[]>([])
  #call = $state<CallInfo | null>(null)
  /** The last call that ended, so the panel can say how and when. */
  #ended = $state<CallInfo | null>(null)
  #localStream = $state.raw<MediaStream | null>(null)
  #remoteStream = $state.raw<MediaStream | null>(null)
  #localCandidates = $state<CandidateInfo[]>([])
  #remoteCandidates = $state<CandidateInfo[]>([])
  /** The candidate pair the media flows over (`relay` on either end: through TURN). */
  #selectedPair = $state<SelectedPair | null>(null)
  #connection = $state<StateChange<ConnectionState>[]>([])
  #signaling = $state<StateChange<SignalingState>[]>([])
  #audioOn = $state(true)
  #videoOn = $state(true)
  /** Accept was pressed: the call is being answered, it no longer rings. */
  #accepting = $state(false)
  /** What the other party last said about its camera (CAMERA_NOTICE). */
  #peerCameraOn = $state(true)
  #endedAt = 0
  /** The last call failed because our camera or microphone did not start (the error says so). */
  #mediaFailed = $state(false)
  #endedNotice = $state(false)
  #noticeTimer: ReturnType<typeof setTimeout> | undefined
  readonly #remoteVideo = new VideoLiveness()
  #now = $state(Date.now())
  readonly #actions = new Actions()
  #callStartedAt = 0
  readonly #timer: ReturnType<typeof setInterval>
  readonly #offs: (() => void)[]

  constructor(rtm: RTM, options: CallClientOptions = {}, ringer = new Ringer()) {
    this.client = new CallClient(rtm, options)
    this.ringer = ringer
    const c = this.client
    this.player = { play: (element) => c.play(element) }
    this.#offs = [
      c.on('registered', ({ sId }) => { this.#sId = sId }),
      c.on('list', ({ clients }) => { this.#clients = clients }),
      c.on('call', (call) => this.#onCall(call)),
      c.on('localStream', ({ stream }) => { this.#localStream = stream }),
      c.on('remoteStream', ({ stream }) => { this.#remoteStream = stream; this.#remoteVideo.watch(stream) }),
      c.on('notify', ({ from, type, data }) => this.#onNotice(from, type, data)),
      c.on('localCandidate', (candidate) => { this.#localCandidates.push(candidate) }),
      c.on('remoteCandidate', (candidate) => { this.#remoteCandidates.push(candidate) }),
      c.on('selectedPair', (pair) => { this.#selectedPair = pair }),
      c.on('connectionState', ({ state, rtc }) => { this.#connection.push({ state, detail: rtc, at: this.#elapsed() }) }),
      c.on('signalingState', ({ state, sdp }) => { this.#signaling.push({ state, detail: sdp ?? '', at: this.#elapsed() }) }),
      c.on('stats', (sample) => { if (sample.sessionId === this.#call?.sessionId) this.stats.add(sample) }),
      c.on('autoplay', (event) => this.playback.apply(event)),
      c.on('error', (error) => {
        // A busy callee is an outcome, not a fault: the call ends and says "Busy".
        if (!BUSY_ERRORS.has(error.name)) this.#actions.show(callErrorWords(error))
      }),
    ]
    this.#timer = setInterval(() => { if (this.#call?.startedAt) this.#now = Date.now() }, DURATION_TICK_MS)
  }

  get sId(): string | null { return this.#sId }
  /** Everyone else with an sId. */
  get others() { return this.#clients.filter((client) => client.sId !== this.#sId) }
  get call(): CallInfo | null { return this.#call }
  get ended(): CallInfo | null { return this.#ended }
  /** We answered the ringing call: it is being connected or in progress. */
  get answered(): boolean { return this.#call?.direction === 'incoming' && (this.#accepting || this.#call.state === 'ACTIVE') }
  /** A call rings here and waits for Accept or Decline. */
  get incoming(): boolean { return this.#call?.direction === 'incoming' && this.#call.state === 'PENDING' && !this.#accepting }
  /** Everyone else, with their state in words. */
  get people(): Person[] { return this.others.map((person) => ({ ...person, ...personState(person, this.#call) })) }
  /** The call in progress in a few words ("Calling bob…"), or null. */
  get status(): string | null { return this.#call && callStatus(this.#call, this.#accepting) }
  /** Why the last call ended, in plain words. */
  get endedReason(): string | null { return this.#ended && endReasonText(this.#ended, this.#mediaFailed) }
  /** How long the last call lasted once answered, in seconds, else null. */
  get endedSeconds(): number | null {
    const startedAt = this.#ended?.startedAt
    return startedAt ? Math.max(0, Math.floor((this.#endedAt - startedAt) / 1000)) : null
  }
  /** The call that just ended, for ENDED_NOTICE_MS or until dismissed, so other panels can say so. */
  get endedNotice(): CallInfo | null { return this.#endedNotice ? this.#ended : null }
  /** Our camera shows nothing: turned off, or no call. */
  get localVideoOff(): boolean { return !this.#videoOn || !this.#localStream }
  /** The other party's picture is missing: they turned their camera off, or no frames arrive. */
  get remoteVideoOff(): boolean { return !this.#peerCameraOn || !this.#remoteVideo.live }
  get localStream(): MediaStream | null { return this.#localStream }
  get remoteStream(): MediaStream | null { return this.#remoteStream }
  get localCandidates(): CandidateInfo[] { return this.#localCandidates }
  get remoteCandidates(): CandidateInfo[] { return this.#remoteCandidates }
  get selectedPair(): SelectedPair | null { return this.#selectedPair }
  get connectionStates(): StateChange<ConnectionState>[] { return this.#connection }
  get signalingStates(): StateChange<SignalingState>[] { return this.#signaling }
  get connectionState(): ConnectionState | null { return this.#connection.at(-1)?.state ?? null }
  get signalingState(): SignalingState | null { return this.#signaling.at(-1)?.state ?? null }
  get audioOn(): boolean { return this.#audioOn }
  get videoOn(): boolean { return this.#videoOn }
  get error(): UserError | null { return this.#actions.error }
  /** The current call's stats history, once a sample came. */
  get statsHistory(): ConnectionHistory | null { return this.stats.get(this.#call?.sessionId) }
  /** Seed 001 quality of the media we receive in this call, once measured. */
  get quality() { return this.stats.quality(this.#call?.sessionId) }
  /** The browser blocked the other party's picture and sound until a click. */
  get remoteBlocked(): boolean { return this.playback.any }

  /** Seconds since the call was accepted, or null before. */
  get durationSeconds(): number | null {
    const startedAt = this.#call?.startedAt
    return startedAt ? Math.max(0, Math.floor((this.#now - startedAt) / 1000)) : null
  }

  start(): Promise<void> {
    return this.#run(async () => { await this.client.start() })
  }

  callPeer(sId: string): Promise<void> {
    return this.#run(async () => { await this.client.call(sId) })
  }

  accept(): Promise<void> {
    return this.#run(async () => {
      this.#accepting = true
      this.#syncRinger()
      try {
        await this.client.accept()
      } catch (error) {
        this.#accepting = false
        this.#syncRinger()
        throw error
      }
    })
  }

  reject(): Promise<void> {
    return this.#run(() => this.client.reject())
  }

  hangUp(): Promise<void> {
    return this.#run(() => this.client.hangUp())
  }

  toggleAudio(): void {
    this.#audioOn = !this.#audioOn
    this.client.setAudioEnabled(this.#audioOn)
  }

  toggleVideo(): void {
    this.#videoOn = !this.#videoOn
    this.client.setVideoEnabled(this.#videoOn)
    this.#tellCamera()
  }

  /** Checks both ends of the call's media (a few seconds: the other party reports its send side). */
  diagnose(): Promise<DiagnosisReport> {
    return this.client.diagnose()
  }

  /** From a click: plays what the browser's autoplay policy held back. */
  resumePlayback(): Promise<void> {
    return this.client.resumePlayback()
  }

  setRingtoneMuted(muted: boolean): void {
    this.ringer.setMuted(muted)
  }

  dismissEnded(): void {
    clearTimeout(this.#noticeTimer)
    this.#endedNotice = false
  }

  destroy(): void {
    clearInterval(this.#timer)
    clearTimeout(this.#noticeTimer)
    for (const off of this.#offs) off()
    this.client.destroy()
    this.ringer.destroy()
    this.#remoteVideo.destroy()
  }

  #onCall(call: CallInfo): void {
    if (call.state === 'CLOSED') {
      this.#call = null
      this.#ended = call
      this.#endedAt = Date.now()
      this.#audioOn = this.#videoOn = true
      this.#accepting = false
      this.stats.clear()
      this.playback.clear()
      this.#showEndedNotice()
      this.#syncRinger()
      return
    }
    if (this.#call?.sessionId !== call.sessionId) {
      // A new call: fresh ICE panel, and the other party's camera is on until they say otherwise.
      this.#callStartedAt = Date.now()
      this.#localCandidates = []
      this.#remoteCandidates = []
      this.#selectedPair = null
      this.stats.clear()
      this.playback.clear()
      this.#connection = []
      this.#signaling = this.#signaling.slice(-1)
      this.#actions.show(null)
      this.#mediaFailed = false
      this.#accepting = false
      this.#peerCameraOn = true
      this.dismissEnded()
    }
    const answered = call.state === 'ACTIVE' && this.#call?.state !== 'ACTIVE'
    this.#call = call
    this.#now = Date.now()
    this.#syncRinger()
    // A camera turned off while it rang: say so now that they are surely listening.
    if (answered && !this.#videoOn) this.#tellCamera()
  }

  /** Runs a button's action; a failure shows in words (the call server's refusals by its own table). */
  #run(action: () => Promise<void>): Promise<void> {
    return this.#actions.run(async () => {
      try {
        await action()
      } catch (error) {
        if (isMediaError(error)) this.#mediaFailed = true
        this.#actions.show(explainCallError(error))
      }
    })
  }

  #syncRinger(): void {
    if (this.incoming) this.ringer.ring(this.#call!.peer)
    else this.ringer.stop()
  }

  #showEndedNotice(): void {
    clearTimeout(this.#noticeTimer)
    this.#endedNotice = true
    this.#noticeTimer = setTimeout(() => { this.#endedNotice = false }, ENDED_NOTICE_MS)
  }

  #tellCamera(): void {
    const peer = this.#call?.peer
    if (!peer) return
    // Only a courtesy for the other tile: a lost notice leaves a black picture, nothing more.
    this.client.notify(peer, CAMERA_NOTICE, { on: this.#videoOn }).catch((error: unknown) => console.warn('could not tell the camera state', error))
  }

  #onNotice(from: string, type: string, data: unknown): void {
    if (type !== CAMERA_NOTICE || from !== this.#call?.peer) return
    if (typeof data === 'object' && data !== null && 'on' in data && typeof data.on === 'boolean') this.#peerCameraOn = data.on
  }

  #elapsed(): number {
    return this.#callStartedAt ? Date.now() - this.#callStartedAt : 0
  }
}
