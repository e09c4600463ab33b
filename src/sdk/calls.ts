import { callErrorName, SessionState, type CallErrorName, type SessionStateName } from '../protocol/call-codes'
import type { CallServerMessage, IceCandidateValue, SdpValue } from '../protocol/calls'
import { nameOf } from '../protocol/enums'
import type { ServerEvent } from '../protocol/events'
import type { RTM } from './client'
import { Emitter } from './events'
import { parseCandidate, type CandidateInfo } from './ice-candidate'

/** Seed 001 "ConnectionState" (the media path), from RTCPeerConnection.connectionState. */
export type ConnectionState = 'new' | 'connecting' | 'connected' | 'failed' | 'disconnected' | 'reconnecting' | 'not_support' | 'limit_exceeded'
/** Seed 001 "SignalingState" (the call signaling), with the peer connection's SDP state beside it. */
export type SignalingState = 'new' | 'scheduling' | 'scheduled' | 'connecting' | 'connected' | 'disconnected' | 'closed' | 'reconnecting'

export interface CallInfo {
  sessionId: string
  /** The other party's sId. */
  peer: string
  direction: 'outgoing' | 'incoming'
  state: SessionStateName
  /** When the call became ACTIVE (ms since epoch), for its duration. */
  startedAt: number | null
  /**
   * True while the call is being recovered: our link to the coordinator or the media path
   * dropped, and the call has not ended (UIs say "Reconnecting…", not "ended").
   */
  reconnecting: boolean
  /**
   * Why it ended: our own hang-up/reject, the other's stop/reject, `leave` (they vanished
   * for longer than the grace period), `no-answer` (rang out), `busy` (they were in another
   * call, or called us at the same moment and their call won).
   */
  endReason: 'hangup' | 'rejected' | 'stopped' | 'declined' | 'leave' | 'failed' | 'no-answer' | 'busy' | null
}

export type CallEventMap = {
  /** Our sId on the coordinator. */
  registered: { sId: string }
  /** Seed 002 `clu`: everyone with an sId (including us) and whether they are in a call. */
  list: { clients: { sId: string; state: 'WAIT' | 'CALLING' }[] }
  /** Someone is calling us: `accept()` or `reject()`. */
  incoming: { sessionId: string; from: string }
  /** The current call changed state (seed 002 `ssu`); CLOSED carries `endReason`. */
  call: CallInfo
  localStream: { stream: MediaStream | null }
  remoteStream: { stream: MediaStream | null }
  localCandidate: CandidateInfo & { sessionId: string }
  remoteCandidate: CandidateInfo & { sessionId: string }
  connectionState: { state: ConnectionState; rtc: RTCPeerConnectionState | 'closed' }
  signalingState: { state: SignalingState; sdp: RTCSignalingState | null }
  notify: { from: string; type: string; data: unknown }
  /** The coordinator refused something we sent (code from the call error table). */
  error: { code: number; name: CallErrorName | 'UNKNOWN'; message: string }
  /** Every call message received, for signal viewers. */
  message: CallServerMessage
}

export interface CallClientOptions {
  /** Default `[]`: host candidates only, nothing leaves the local network. */
  iceServers?: RTCIceServer[]
  media?: MediaStreamConstraints
}

/** Media and peer connection of the one call in progress. */
interface Call extends CallInfo {
  pc: RTCPeerConnection | null
  local: MediaStream | null
  offer: SdpValue | null
  /** Candidates to send once our call/accept is out, and remote ones until the remote description is set. */
  outbox: IceCandidateValue[]
  inbox: IceCandidateValue[]
  signalled: boolean
}

/**
 * One-to-one video calls over seed 002's protocol, through any RTM transport.
 *
 * @example
 * const calls = new CallClient(rtm)
 * calls.on('incoming', () => calls.accept())
 * calls.on('remoteStream', ({ stream }) => { video.srcObject = stream })
 * await calls.start()          // registers our sId
 * await calls.call('bob')
 */
export class CallClient {
  sId: string | null = null
  clients: CallEventMap['list']['clients'] = []
  private current: Call | null = null
  private signaling: SignalingState = 'new'
  private readonly events = new Emitter<CallEventMap>()
  private readonly waiters = new Set<(msg: CallServerMessage) => boolean>()
  private readonly unregister: () => void
  private readonly onLink = (event: { currentState: string }) => this.linkChanged(event.currentState)

  constructor(private readonly rtm: RTM, private readonly options: CallClientOptions = {}) {
    rtm.wireHandlers.set('call', (event: ServerEvent) => { if (event.kind === 'call') this.receive(event.msg) })
    rtm.addEventListener('linkState', this.onLink)
    // A reconnect is a new connection: the coordinator ended our call and freed our sId.
    this.unregister = rtm.addRestorer(async () => {
      if (this.current) this.teardown('leave')
      // Not awaited: restorers run before the link counts as connected, and start() is sent once it does.
      // A refusal also arrives as an `error` event; signaling stays 'connecting'.
      if (this.sId !== null) this.start().catch(() => undefined)
      return []
    })
  }

  /** The call in progress (ringing or active), if any. */
  get activeCall(): CallInfo | null {
    return this.current && publicInfo(this.current)
  }

  on<K extends keyof CallEventMap>(name: K, listener: (event: CallEventMap[K]) => void): () => void {
    this.events.on(name, listener)
    return () => this.events.off(name, listener)
  }

  /**
   * Registers our sId — our userId: the coordinator gives a logged-in user no other, and
   * takes it back from an anonymous /ws/calls client holding it. Log in first (NOT_LOGIN
   * otherwise). Resolves with the sId.
   */
  async start(): Promise<string> {
    this.setSignaling('connecting')
    const answer = this.expect((msg) => msg.cmd === 'sId')
    await this.send({ cmd: 'sId' }).catch((error) => { answer.cancel(); throw error })
    const msg = (await answer.promise) as Extract<CallServerMessage, { cmd: 'sId' }>
    return msg.sId
  }

  /** Calls `peer` (an sId): camera and microphone on, offer sent; resolves once it rings. */
  async call(peer: string): Promise<CallInfo> {
    if (this.current) throw new Error('already in a call')
    const created = this.expect((msg) => msg.cmd === 'ssu' && msg.state === SessionState.NEW)
    await this.send({ cmd: 'session', opponentId: peer }).catch((error) => { created.cancel(); throw error })
    const { sessionId } = (await created.promise) as Extract<CallServerMessage, { cmd: 'ssu' }>
    const meanwhile = this.current as Call | null // set by receive() while we awaited
    if (meanwhile) {
      // Someone called us while our session was being created: theirs wins, ours is dropped.
      await this.send({ cmd: 'stop', sessionId }).catch(() => undefined)
      throw new Error(`${meanwhile.peer} called you first`)
    }
    const call = this.begin(sessionId, peer, 'outgoing')
    try {
      await this.openMedia(call)
      const offer = await call.pc!.createOffer()
      await call.pc!.setLocalDescription(offer)
      if (this.current !== call) return publicInfo(call)
      await this.send({ cmd: 'call', sessionId, offer: { type: 'offer', sdp: offer.sdp ?? '' } })
      this.flushOutbox(call)
    } catch (error) {
      if (this.current !== call) return publicInfo(call) // hung up or closed meanwhile: nothing failed
      await this.hangUp('failed')
      throw error
    }
    return publicInfo(call)
  }

  /** Answers the ringing call. */
  async accept(): Promise<void> {
    const call = this.current
    if (!call || call.direction !== 'incoming' || call.state !== 'PENDING' || !call.offer) throw new Error('no incoming call to accept')
    try {
      await this.openMedia(call)
      await call.pc!.setRemoteDescription(toDescription(call.offer, 'offer'))
      await this.applyRemoteCandidates(call)
      const answer = await call.pc!.createAnswer()
      await call.pc!.setLocalDescription(answer)
      if (this.current !== call) return
      await this.send({ cmd: 'accept', sessionId: call.sessionId, answer: { type: 'answer', sdp: answer.sdp ?? '' } })
      this.flushOutbox(call)
    } catch (error) {
      if (this.current !== call) return // the caller gave up or we hung up meanwhile
      await this.hangUp('failed')
      throw error
    }
  }

  async reject(): Promise<void> {
    const call = this.current
    if (!call || call.direction !== 'incoming' || call.state !== 'PENDING') throw new Error('no incoming call to reject')
    this.teardown('declined')
    await this.send({ cmd: 'reject', sessionId: call.sessionId })
  }

  /** Ends the call (or cancels a ringing one); media stops and the connection closes at once. */
  async hangUp(reason: 'hangup' | 'failed' = 'hangup'): Promise<void> {
    const call = this.current
    if (!call) return
    this.teardown(reason)
    await this.send({ cmd: 'stop', sessionId: call.sessionId }).catch(() => undefined) // already gone on the coordinator
  }

  setAudioEnabled(enabled: boolean): void {
    for (const track of this.current?.local?.getAudioTracks() ?? []) track.enabled = enabled
  }

  setVideoEnabled(enabled: boolean): void {
    for (const track of this.current?.local?.getVideoTracks() ?? []) track.enabled = enabled
  }

  async notify(peer: string, type: string, data: unknown): Promise<void> {
    await this.send({ cmd: 'notify', opponentId: peer, type, data })
  }

  /** Hangs up and stops listening; the RTM client stays usable. */
  destroy(): void {
    void this.hangUp()
    this.rtm.wireHandlers.delete('call')
    this.rtm.removeEventListener('linkState', this.onLink)
    this.unregister()
    this.setSignaling('closed')
    this.events.clear()
  }

  /** Rejects with `{ errorCode, name, reason, operation: 'call' }` when the coordinator refuses it. */
  private async send(msg: Record<string, unknown> & { cmd: string }): Promise<void> {
    await this.rtm.request('call', msg)
  }

  /** Waits for the next call message matching `match`, or the next error. */
  private expect(match: (msg: CallServerMessage) => boolean): { promise: Promise<CallServerMessage>; cancel(): void } {
    let waiter!: (msg: CallServerMessage) => boolean
    const promise = new Promise<CallServerMessage>((resolve, reject) => {
      waiter = (msg) => {
        if (msg.cmd === 'error') reject({ error: true, errorCode: msg.code, name: callErrorName(msg.code), reason: msg.message, operation: 'call' })
        else if (match(msg)) resolve(msg)
        else return false
        return true
      }
    })
    this.waiters.add(waiter)
    promise.catch(() => undefined) // the caller awaits it; an unawaited cancel must not be "unhandled"
    return { promise, cancel: () => this.waiters.delete(waiter) }
  }

  private receive(msg: CallServerMessage): void {
    this.events.emit('message', msg)
    for (const waiter of this.waiters) if (waiter(msg)) this.waiters.delete(waiter)
    const call = this.current
    switch (msg.cmd) {
      case 'sId':
        this.sId = msg.sId
        this.setSignaling('connected')
        return this.events.emit('registered', { sId: msg.sId })
      case 'clu':
        this.clients = msg.list.map((entry) => ({ sId: entry.sId, state: entry.state === 2 ? 'CALLING' : 'WAIT' }))
        return this.events.emit('list', { clients: this.clients })
      case 'call': {
        if (call) return // the coordinator never rings a busy client; ignore a stray one
        const incoming = this.begin(msg.sessionId, msg.sId, 'incoming')
        incoming.offer = msg.offer
        return this.events.emit('incoming', { sessionId: msg.sessionId, from: msg.sId })
      }
      case 'accept':
        if (call?.sessionId === msg.sessionId && call.pc) {
          void call.pc.setRemoteDescription(toDescription(msg.answer, 'answer'))
            .then(() => this.applyRemoteCandidates(call))
            .catch(() => this.hangUp('failed'))
        }
        return
      case 'icecandidate':
        if (call?.sessionId !== msg.sessionId) return
        if (typeof msg.icecandidate !== 'string' && msg.icecandidate.candidate) {
          this.events.emit('remoteCandidate', { ...parseCandidate(msg.icecandidate.candidate), sessionId: msg.sessionId })
        }
        call.inbox.push(msg.icecandidate)
        if (call.pc?.remoteDescription) void this.applyRemoteCandidates(call)
        return
      case 'ssu':
        if (call?.sessionId !== msg.sessionId) return
        if (msg.state === SessionState.CLOSED) return this.teardown(call.endReason ?? 'stopped')
        call.state = nameOf(SessionState, msg.state)
        if (call.state === 'ACTIVE') call.startedAt = Date.now()
        return this.events.emit('call', publicInfo(call))
      case 'stop':
      case 'reject':
      case 'leave':
        if (call?.sessionId === msg.sessionId) this.teardown(msg.cmd === 'stop' ? 'stopped' : msg.cmd === 'reject' ? 'rejected' : 'leave')
        return
      case 'notify':
        return this.events.emit('notify', { from: msg.sId, type: msg.type, data: msg.data })
      case 'error':
        return this.events.emit('error', { code: msg.code, name: callErrorName(msg.code), message: msg.message })
    }
  }

  private begin(sessionId: string, peer: string, direction: Call['direction']): Call {
    const call: Call = {
      sessionId, peer, direction, state: direction === 'outgoing' ? 'NEW' : 'PENDING', startedAt: null, endReason: null, reconnecting: false,
      pc: null, local: null, offer: null, outbox: [], inbox: [], signalled: false,
    }
    this.current = call
    this.events.emit('call', publicInfo(call))
    return call
  }

  private async openMedia(call: Call): Promise<void> {
    const local = await navigator.mediaDevices.getUserMedia(this.options.media ?? { audio: true, video: true })
    if (this.current !== call) {
      for (const track of local.getTracks()) track.stop() // hung up while the camera was opening
      throw new Error('the call ended')
    }
    call.local = local
    this.events.emit('localStream', { stream: local })
    const pc = new RTCPeerConnection({ iceServers: this.options.iceServers ?? [] })
    call.pc = pc
    for (const track of local.getTracks()) pc.addTrack(track, local)
    pc.onicecandidate = ({ candidate }) => {
      if (this.current !== call || !candidate) return
      const init = candidate.toJSON()
      this.events.emit('localCandidate', { ...parseCandidate(init.candidate ?? ''), sessionId: call.sessionId })
      call.outbox.push({ candidate: init.candidate ?? '', sdpMid: init.sdpMid ?? null, sdpMLineIndex: init.sdpMLineIndex ?? null, usernameFragment: init.usernameFragment ?? null })
      if (call.signalled) this.flushOutbox(call)
    }
    pc.ontrack = ({ streams, track }) => {
      if (this.current !== call) return
      this.events.emit('remoteStream', { stream: streams[0] ?? new MediaStream([track]) })
    }
    pc.onconnectionstatechange = () => {
      if (this.current !== call) return
      this.events.emit('connectionState', { state: toConnectionState(pc.connectionState), rtc: pc.connectionState })
      if (pc.connectionState === 'failed') void this.hangUp('failed')
    }
    pc.onsignalingstatechange = () => {
      if (this.current === call) this.events.emit('signalingState', { state: this.signaling, sdp: pc.signalingState })
    }
    this.events.emit('connectionState', { state: 'new', rtc: 'new' })
  }

  private flushOutbox(call: Call): void {
    call.signalled = true
    for (const icecandidate of call.outbox.splice(0)) {
      void this.send({ cmd: 'icecandidate', sessionId: call.sessionId, icecandidate }).catch(() => undefined) // the call may have ended meanwhile
    }
  }

  private async applyRemoteCandidates(call: Call): Promise<void> {
    for (const candidate of call.inbox.splice(0)) {
      const init = typeof candidate === 'string' ? { candidate, sdpMid: '0', sdpMLineIndex: 0 } : candidate
      await call.pc?.addIceCandidate(init).catch(() => undefined) // a bad candidate only loses that path
    }
  }

  /** Media stopped and connection closed, whatever ended the call. */
  private teardown(reason: NonNullable<CallInfo['endReason']>): void {
    const call = this.current
    if (!call) return
    this.current = null
    call.endReason ??= reason
    call.state = 'CLOSED'
    for (const track of call.local?.getTracks() ?? []) track.stop()
    if (call.pc) {
      call.pc.close()
      this.events.emit('connectionState', { state: 'disconnected', rtc: 'closed' })
      this.events.emit('signalingState', { state: this.signaling, sdp: 'closed' })
    }
    this.events.emit('localStream', { stream: null })
    this.events.emit('remoteStream', { stream: null })
    this.events.emit('call', publicInfo(call))
  }

  private linkChanged(linkState: string): void {
    if (linkState === 'DISCONNECTED' || linkState === 'SUSPENDED') this.setSignaling('reconnecting')
    else if (linkState === 'FAILED' || linkState === 'IDLE') this.setSignaling('disconnected')
  }

  private setSignaling(state: SignalingState): void {
    if (this.signaling === state) return
    this.signaling = state
    this.events.emit('signalingState', { state, sdp: this.current?.pc?.signalingState ?? null })
  }
}

function publicInfo(call: CallInfo): CallInfo {
  const { sessionId, peer, direction, state, startedAt, endReason, reconnecting } = call
  return { sessionId, peer, direction, state, startedAt, endReason, reconnecting }
}

function toDescription(sdp: SdpValue, type: 'offer' | 'answer'): RTCSessionDescriptionInit {
  return typeof sdp === 'string' ? { type, sdp } : { type: sdp.type as RTCSdpType, sdp: sdp.sdp }
}

function toConnectionState(state: RTCPeerConnectionState): ConnectionState {
  return state === 'closed' ? 'disconnected' : state
}
