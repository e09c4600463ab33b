import { CallClient, type CallClientOptions, type CallInfo, type CandidateInfo, type ConnectionState, type RTM, type SignalingState } from '../../sdk'
import { Actions } from '../shared/actions.svelte'

/** A state the ICE panel lists, with when it was reached (ms since the call started ringing). */
export interface StateChange<S> { state: S; detail: string; at: number }

/** How often the call duration redraws. */
export const DURATION_TICK_MS = 500

/**
 * The Calls panel's state: who can be called, the call in progress, both video streams,
 * the ICE exchange (local and remote candidates) and the connection/signaling states as
 * they change. Everything comes from the SDK's CallClient; components only render it.
 */
export class CallsState {
  readonly client: CallClient
  #sId = $state<string | null>(null)
  #clients = $state<{ sId: string; state: 'WAIT' | 'CALLING' }[]>([])
  #call = $state<CallInfo | null>(null)
  /** The last call that ended, so the panel can say how and when. */
  #ended = $state<CallInfo | null>(null)
  #localStream = $state.raw<MediaStream | null>(null)
  #remoteStream = $state.raw<MediaStream | null>(null)
  #localCandidates = $state<CandidateInfo[]>([])
  #remoteCandidates = $state<CandidateInfo[]>([])
  #connection = $state<StateChange<ConnectionState>[]>([])
  #signaling = $state<StateChange<SignalingState>[]>([])
  #audioOn = $state(true)
  #videoOn = $state(true)
  #now = $state(Date.now())
  readonly #actions = new Actions()
  #callStartedAt = 0
  readonly #timer: ReturnType<typeof setInterval>
  readonly #offs: (() => void)[]

  constructor(rtm: RTM, options: CallClientOptions = {}) {
    this.client = new CallClient(rtm, options)
    const c = this.client
    this.#offs = [
      c.on('registered', ({ sId }) => { this.#sId = sId }),
      c.on('list', ({ clients }) => { this.#clients = clients }),
      c.on('call', (call) => this.#onCall(call)),
      c.on('localStream', ({ stream }) => { this.#localStream = stream }),
      c.on('remoteStream', ({ stream }) => { this.#remoteStream = stream }),
      c.on('localCandidate', (candidate) => { this.#localCandidates.push(candidate) }),
      c.on('remoteCandidate', (candidate) => { this.#remoteCandidates.push(candidate) }),
      c.on('connectionState', ({ state, rtc }) => { this.#connection.push({ state, detail: rtc, at: this.#elapsed() }) }),
      c.on('signalingState', ({ state, sdp }) => { this.#signaling.push({ state, detail: sdp ?? '', at: this.#elapsed() }) }),
      c.on('error', ({ code, name, message }) => { this.#actions.show(`${code} ${name}: ${message}`) }),
    ]
    this.#timer = setInterval(() => { if (this.#call?.startedAt) this.#now = Date.now() }, DURATION_TICK_MS)
  }

  get sId(): string | null { return this.#sId }
  /** Everyone else with an sId. */
  get others() { return this.#clients.filter((client) => client.sId !== this.#sId) }
  get call(): CallInfo | null { return this.#call }
  get ended(): CallInfo | null { return this.#ended }
  get incoming(): boolean { return this.#call?.direction === 'incoming' && this.#call.state === 'PENDING' }
  get localStream(): MediaStream | null { return this.#localStream }
  get remoteStream(): MediaStream | null { return this.#remoteStream }
  get localCandidates(): CandidateInfo[] { return this.#localCandidates }
  get remoteCandidates(): CandidateInfo[] { return this.#remoteCandidates }
  get connectionStates(): StateChange<ConnectionState>[] { return this.#connection }
  get signalingStates(): StateChange<SignalingState>[] { return this.#signaling }
  get connectionState(): ConnectionState | null { return this.#connection.at(-1)?.state ?? null }
  get signalingState(): SignalingState | null { return this.#signaling.at(-1)?.state ?? null }
  get audioOn(): boolean { return this.#audioOn }
  get videoOn(): boolean { return this.#videoOn }
  get error(): string | null { return this.#actions.error }

  /** Seconds since the call was accepted, or null before. */
  get durationSeconds(): number | null {
    const startedAt = this.#call?.startedAt
    return startedAt ? Math.max(0, Math.floor((this.#now - startedAt) / 1000)) : null
  }

  start(): Promise<void> {
    return this.#actions.run(async () => { await this.client.start() })
  }

  callPeer(sId: string): Promise<void> {
    return this.#actions.run(async () => { await this.client.call(sId) })
  }

  accept(): Promise<void> {
    return this.#actions.run(() => this.client.accept())
  }

  reject(): Promise<void> {
    return this.#actions.run(() => this.client.reject())
  }

  hangUp(): Promise<void> {
    return this.#actions.run(() => this.client.hangUp())
  }

  toggleAudio(): void {
    this.#audioOn = !this.#audioOn
    this.client.setAudioEnabled(this.#audioOn)
  }

  toggleVideo(): void {
    this.#videoOn = !this.#videoOn
    this.client.setVideoEnabled(this.#videoOn)
  }

  destroy(): void {
    clearInterval(this.#timer)
    for (const off of this.#offs) off()
    this.client.destroy()
  }

  #onCall(call: CallInfo): void {
    if (call.state === 'CLOSED') {
      this.#call = null
      this.#ended = call
      this.#audioOn = this.#videoOn = true
      return
    }
    if (this.#call?.sessionId !== call.sessionId) {
      // A new call: fresh ICE panel.
      this.#callStartedAt = Date.now()
      this.#localCandidates = []
      this.#remoteCandidates = []
      this.#connection = []
      this.#signaling = this.#signaling.slice(-1)
      this.#actions.show(null)
    }
    this.#call = call
    this.#now = Date.now()
  }

  #elapsed(): number {
    return this.#callStartedAt ? Date.now() - this.#callStartedAt : 0
  }
}
