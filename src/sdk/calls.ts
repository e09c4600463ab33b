import { callErrorName, DEFAULT_CALL_GRACE_MS, SessionState, type CallErrorName, type SessionStateName } from '../protocol/call-codes'
import type { CallServerMessage } from '../protocol/calls'
import { nameOf } from '../protocol/enums'
import { callErrorCategory, type NetworkErrorCode } from '../protocol/network-errors'
import type { ServerEvent } from '../protocol/events'
import type { RTM } from './client'
import { Emitter } from './events'
import { established, isReconnecting, publicInfo, type Call, type Dial } from './call-state'
import { parseCandidate, type CandidateInfo } from './media/ice-candidate'
import { mediaKinds, openLocalMedia, releaseMedia, stopTracks } from './media/local-media'
import { PeerLink, toConnectionState, type ConnectionState } from './media/peer-link'
import type { SelectedPair } from './media/selected-pair'
import { Playback, type AutoplayEvent } from './media/playback'
import { DEFAULT_STATS_INTERVAL_MS } from './media/stats/monitor'
import { coordinatorLinkWords, DIAGNOSE_REPLY, DIAGNOSE_REQUEST, diagnosisReport, FieldRequests, type MediaEnd } from './media/stats/link-diagnosis'
import type { DiagnosisReport, StatsSample } from './media/stats/types'

export type { ConnectionState } from './media/peer-link'
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
  /** The candidate pair the media flows over (getStats), on connect and whenever ICE switches: `relay` on either end = through TURN. */
  selectedPair: SelectedPair & { sessionId: string }
  connectionState: { state: ConnectionState; rtc: RTCPeerConnectionState | 'closed' }
  signalingState: { state: SignalingState; sdp: RTCSignalingState | null }
  notify: { from: string; type: string; data: unknown }
  /** The coordinator refused something we sent (code from the call error table; `category` seed 001's, where one fits). */
  error: { code: number; name: CallErrorName | 'UNKNOWN'; category: NetworkErrorCode | null; message: string }
  /** Every call message received, for signal viewers. */
  message: CallServerMessage
  /** Seed 001's WebRTCStats of the call's inbound tracks, every `statsIntervalMs` while media flows, with a quality score. */
  stats: StatsSample
  /** The browser blocked the remote media (code -1) until `resumePlayback()` from a click plays it (code 0). */
  autoplay: AutoplayEvent
}

export interface CallClientOptions {
  /** Replaces `rtm.ice`'s servers (the relay's and the page's) for this client's calls. */
  iceServers?: RTCIceServer[]
  /** `relay` forces TURN for this client's calls; default the page's (RTMConfig), else the relay's. */
  iceTransportPolicy?: RTCIceTransportPolicy
  media?: MediaStreamConstraints
  /**
   * How long a call in trouble is kept (default DEFAULT_CALL_GRACE_MS, the coordinator's
   * default): our link to the coordinator down without the call re-bound, or the media path
   * down despite ICE restarts. Past it the call ends (`leave`, `failed`).
   */
  graceMs?: number
  /**
   * Default true: an incoming call opens the camera and prepares the answer while it rings
   * (our own preview shows, as on a phone), so accepting connects at once. False: nothing
   * starts before accept().
   */
  prepareWhileRinging?: boolean
  /** How often the `stats` event comes while media flows (default DEFAULT_STATS_INTERVAL_MS, 2 s). */
  statsIntervalMs?: number
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
  private dialing: Dial | null = null
  /** A call hung up while our link was down: stopped on the coordinator once our claim gives it back. */
  private abandoned: { sessionId: string; peer: string } | null = null
  private signaling: SignalingState = 'new'
  private readonly events = new Emitter<CallEventMap>()
  private readonly fieldRequests = new FieldRequests()
  private readonly playback = new Playback(
    () => this.current && { srcUserId: this.current.peer, streamId: 0 },
    (event) => this.events.emit('autoplay', event),
  )
  private readonly waiters = new Set<(msg: CallServerMessage) => boolean>()
  private readonly unregister: () => void
  private readonly onLink = (event: { currentState: string }) => this.linkChanged(event.currentState)
  /** A closing or reloading page takes the peer connection with it: the call is over, say so now. */
  private readonly onPageHide = () => { if (this.current) void this.hangUp() }

  constructor(private readonly rtm: RTM, private readonly options: CallClientOptions = {}) {
    rtm.wireHandlers.set('call', (event: ServerEvent) => { if (event.kind === 'call') this.receive(event.msg) })
    rtm.addEventListener('linkState', this.onLink)
    globalThis.addEventListener?.('pagehide', this.onPageHide)
    // A reconnect is a new connection: register our sId again and claim our call back
    // (before requests queued meanwhile are resent). A ringing call ended with the old link.
    this.unregister = rtm.addRestorer(async () => {
      if (this.current && !established(this.current)) this.teardown('leave')
      if (this.sId === null) return []
      // A refusal also arrives as an `error` event; the call then ends when the grace runs out.
      await this.rtm.connection.requestNow('call', { cmd: 'sId' })
      const call = this.current ?? this.abandoned
      if (call) await this.rtm.connection.requestNow('call', { cmd: 'claim', sessionId: call.sessionId, opponentId: call.peer })
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

  /**
   * Calls `peer` (an sId): camera and microphone on, offer sent; resolves once it rings. If
   * `peer` is in a call, or calls us at the same moment and their call rings first (glare),
   * it resolves with the call CLOSED and `endReason: 'busy'` (their call then arrives as
   * `incoming`). Rejects with the coordinator's error for anything else.
   */
  async call(peer: string): Promise<CallInfo> {
    if (this.current || this.dialing) throw new Error('already in a call')
    const dial: Dial = { peer, lost: null }
    this.dialing = dial
    // The camera opens while the session is created: it is the slowest step of a call's setup.
    const camera = this.openCamera()
    camera.catch(() => undefined) // a refusal is reported where the call awaits it, after its session exists
    let sessionId: string
    try {
      const created = this.expect((msg) => msg.cmd === 'ssu' && msg.state === SessionState.NEW)
      const refused = await this.send({ cmd: 'session', opponentId: peer }).then(() => null, (error: { name?: string }) => error)
      if (refused) {
        created.cancel()
        releaseMedia(camera)
        if (refused.name === 'OPPONENT_BUSY' || refused.name === 'BUSY') return this.lose(dial)
        throw refused
      }
      sessionId = ((await created.promise) as Extract<CallServerMessage, { cmd: 'ssu' }>).sessionId
    } catch (error) {
      releaseMedia(camera)
      throw error
    } finally {
      if (this.dialing === dial) this.dialing = null
    }
    if (dial.lost) {
      releaseMedia(camera)
      // Their call rang us while ours was being created: theirs won, ours is dropped.
      await this.send({ cmd: 'stop', sessionId }).catch(() => undefined) // the coordinator may have closed it already
      return dial.lost
    }
    const call = this.begin(sessionId, peer, 'outgoing')
    try {
      // The offer goes out before the camera is open (transceivers without tracks yet), so the
      // camera opens while the other side rings and answers; its tracks replace the empty ones.
      const link = this.connect(call)
      const stream = new MediaStream() // names our tracks' stream in the offer, for the other side's ontrack
      for (const kind of mediaKinds(this.options.media)) link.pc.addTransceiver(kind, { direction: 'sendrecv', streams: [stream] })
      await link.offer() // then our held candidates follow it
      if (this.current !== call) return publicInfo(call)
      const local = await this.takeCamera(call, camera)
      for (const track of local.getTracks()) {
        const transceiver = link.pc.getTransceivers().find((each) => each.sender.track === null && each.receiver.track.kind === track.kind)
        await transceiver?.sender.replaceTrack(track)
      }
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
      const answer = await (call.prepared ??= this.prepareAnswer(call))
      if (this.current !== call) return
      call.answered = true
      await call.link!.applyRemoteCandidates() // held while it rang: no connectivity checks reveal us before we answer
      await call.link!.sendAnswer(answer) // then our held candidates follow it
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
    const away = call.rebinding !== null
    this.teardown(reason)
    // Our old connection is gone from the call: the coordinator takes a stop only once we claimed it back.
    if (away) this.abandoned = { sessionId: call.sessionId, peer: call.peer }
    else await this.send({ cmd: 'stop', sessionId: call.sessionId }).catch(() => undefined) // already gone on the coordinator
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

  /**
   * Plays the remote media in `element` (instead of `element.play()`): when the browser's
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
   * Seed 001's DiagnosisReport of the current call: our receive side from the last 30 s of
   * stats, and the other party's send side, asked over `notify` (within 3 s, else 'timeout').
   */
  async diagnose(): Promise<DiagnosisReport> {
    const call = this.current
    const field = call?.link ? await this.fieldRequests.ask((data) => this.notify(call.peer, DIAGNOSE_REQUEST, data)) : null
    return diagnosisReport({ deviceId: this.sId ?? '', coordinatorLink: coordinatorLinkWords(this.rtm.linkState), end: this.mediaEnd(), field })
  }

  /** Hangs up and stops listening; the RTM client stays usable. */
  destroy(): void {
    void this.hangUp()
    this.rtm.wireHandlers.delete('call')
    this.rtm.removeEventListener('linkState', this.onLink)
    globalThis.removeEventListener?.('pagehide', this.onPageHide)
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
        // The same session again, ACTIVE: the other party renegotiates (an ICE restart).
        if (call?.sessionId === msg.sessionId && call.state === 'ACTIVE') return call.link?.remoteOffer(msg.offer)
        if (call) return // the coordinator never rings a busy client; ignore a stray one
        if (this.dialing) this.lose(this.dialing) // glare: their call rang first
        const incoming = this.begin(msg.sessionId, msg.sId, 'incoming')
        incoming.offer = msg.offer
        if (this.prepareWhileRinging) {
          incoming.prepared = this.prepareAnswer(incoming)
          incoming.prepared.catch(() => undefined) // declined or cancelled meanwhile; accept() reports its own failure
        }
        return this.events.emit('incoming', { sessionId: msg.sessionId, from: msg.sId })
      }
      case 'accept':
        if (call?.sessionId !== msg.sessionId || !call.link) return
        if (call.state === 'ACTIVE') return call.link.remoteAnswer(msg.answer)
        void call.link.setAnswer(msg.answer).catch(() => this.hangUp('failed'))
        return
      case 'icecandidate':
        if (call?.sessionId !== msg.sessionId) return
        if (typeof msg.icecandidate !== 'string' && msg.icecandidate.candidate) {
          this.events.emit('remoteCandidate', { ...parseCandidate(msg.icecandidate.candidate), sessionId: msg.sessionId })
        }
        // Held until the remote description is set, and while it rings until we answer.
        if (call.link) call.link.addRemoteCandidate(msg.icecandidate)
        else call.early.push(msg.icecandidate)
        return
      case 'ssu': {
        if (this.abandoned?.sessionId === msg.sessionId) {
          // Our claim gave back a call we hung up meanwhile (or it ended anyway).
          if (msg.state !== SessionState.CLOSED) void this.send({ cmd: 'stop', sessionId: msg.sessionId }).catch(() => undefined) // ended meanwhile
          this.abandoned = null
          return
        }
        if (call?.sessionId !== msg.sessionId) return
        if (msg.state === SessionState.CLOSED) return this.teardown(msg.reason ?? call.endReason ?? 'stopped')
        const state = nameOf(SessionState, msg.state)
        if (state === 'ACTIVE' && call.state !== 'ACTIVE') call.startedAt = Date.now()
        call.state = state
        // After a claim: the call is ours again. Either party hearing it: offers reach the other side again.
        if (call.rebinding) clearTimeout(call.rebinding.giveUp)
        call.rebinding = null
        call.link?.resumed()
        call.reconnecting = isReconnecting(call)
        return this.events.emit('call', publicInfo(call))
      }
      case 'stop':
      case 'reject':
      case 'leave':
        if (call?.sessionId === msg.sessionId) this.teardown(msg.cmd === 'stop' ? (msg.reason ?? 'stopped') : msg.cmd === 'reject' ? 'rejected' : 'leave')
        return
      case 'notify':
        if (msg.type === DIAGNOSE_REQUEST || msg.type === DIAGNOSE_REPLY) {
          // Only the other party of our call asks for our send side or answers our request.
          if (call?.peer === msg.sId) this.fieldRequests.received(msg.type, msg.data, () => this.mediaEnd(), (data) => this.notify(msg.sId, DIAGNOSE_REPLY, data))
          return
        }
        return this.events.emit('notify', { from: msg.sId, type: msg.type, data: msg.data })
      case 'error': {
        const name = callErrorName(msg.code)
        return this.events.emit('error', { code: msg.code, name, category: callErrorCategory(name), message: msg.message })
      }
    }
  }

  private begin(sessionId: string, peer: string, direction: Call['direction']): Call {
    const call: Call = {
      sessionId, peer, direction, state: direction === 'outgoing' ? 'NEW' : 'PENDING', startedAt: null, endReason: null, reconnecting: false,
      link: null, early: [], local: null, offer: null, answered: false, prepared: null, rebinding: null,
    }
    this.current = call
    this.events.emit('call', publicInfo(call))
    return call
  }

  private openCamera(): Promise<MediaStream> {
    return openLocalMedia(this.options.media)
  }

  /**
   * The callee's side up to its answer, done while it rings so that accepting only sends it:
   * camera, peer connection, the offer, the answer and ICE gathering. Remote candidates wait
   * for accept(), so the caller learns nothing of us before we answer.
   */
  private async prepareAnswer(call: Call): Promise<RTCSessionDescriptionInit> {
    await this.openMedia(call)
    return call.link!.prepareAnswer(call.offer!)
  }

  /** The callee's camera and connection, its tracks added before the answer is made. */
  private async openMedia(call: Call): Promise<void> {
    const local = await this.takeCamera(call, this.openCamera())
    const link = this.connect(call)
    for (const track of local.getTracks()) link.pc.addTrack(track, local)
  }

  private async takeCamera(call: Call, camera: Promise<MediaStream>): Promise<MediaStream> {
    const local = await camera
    if (this.current !== call) {
      stopTracks(local) // hung up while the camera was opening
      throw new Error('the call ended')
    }
    call.local = local
    this.events.emit('localStream', { stream: local })
    return local
  }

  /** The call's peer connection, with its handlers; no tracks yet. */
  private connect(call: Call): PeerLink {
    const sessionId = call.sessionId
    const live = () => this.current === call
    const link = new PeerLink({
      configuration: () => this.rtm.ice.configuration(this.options), // src/sdk/ice.ts: relay's servers, then the page's
      // The first offer and answer, and ICE restarts on the ACTIVE session, are seed 002's call/accept.
      signaling: {
        offer: (offer) => this.send({ cmd: 'call', sessionId, offer }),
        answer: (answer) => this.send({ cmd: 'accept', sessionId, answer }),
        candidate: (icecandidate) => this.send({ cmd: 'icecandidate', sessionId, icecandidate }),
      },
      offerer: call.direction === 'outgoing',
      graceMs: this.graceMs,
      // The callee adds the caller's candidates only once it answered: ringing reveals nothing of us.
      acceptsRemoteCandidates: () => call.direction === 'outgoing' || call.answered,
      // A media path that drops in an ACTIVE call is recovered (ICE restart), not hung up.
      recovers: () => established(call),
      stats: {
        intervalMs: this.options.statsIntervalMs ?? DEFAULT_STATS_INTERVAL_MS,
        source: call.peer,
        sessionId,
        sample: (sample) => { if (live()) this.events.emit('stats', sample) },
      },
      hooks: {
        selectedPair: (pair) => { if (live()) this.events.emit('selectedPair', { ...pair, sessionId }) },
        localCandidate: (candidate) => { if (live()) this.events.emit('localCandidate', { ...parseCandidate(candidate.candidate), sessionId }) },
        track: (stream) => { if (live()) this.events.emit('remoteStream', { stream }) },
        connectionState: (rtc) => { if (live()) this.events.emit('connectionState', { state: toConnectionState(rtc), rtc }) },
        signalingState: (sdp) => { if (live()) this.events.emit('signalingState', { state: this.signaling, sdp }) },
        troubleChanged: () => this.refresh(call),
        giveUp: () => { if (live()) void this.hangUp('failed') },
        failed: () => { if (live()) void this.hangUp('failed') },
      },
    })
    call.link = link
    for (const candidate of call.early.splice(0)) link.addRemoteCandidate(candidate)
    this.events.emit('connectionState', { state: 'new', rtc: 'new' })
    return link
  }

  /** Media stopped and connection closed, whatever ended the call. */
  private teardown(reason: NonNullable<CallInfo['endReason']>): void {
    const call = this.current
    if (!call) return
    this.current = null
    this.fieldRequests.clear()
    call.endReason ??= reason
    call.state = 'CLOSED'
    call.reconnecting = false
    if (call.rebinding) clearTimeout(call.rebinding.giveUp)
    stopTracks(call.local)
    if (call.link) {
      call.link.close()
      this.events.emit('connectionState', { state: 'disconnected', rtc: 'closed' })
      this.events.emit('signalingState', { state: this.signaling, sdp: 'closed' })
    }
    this.events.emit('localStream', { stream: null })
    this.events.emit('remoteStream', { stream: null })
    this.events.emit('call', publicInfo(call))
  }

  /** Our end of the call's media, for a diagnosis. */
  private mediaEnd(): MediaEnd {
    const link = this.current?.link ?? null
    return {
      stats: link?.stats ?? null,
      pc: link?.pc ?? null,
      signalConnected: this.signaling === 'connected' && this.current !== null,
      camera: this.current?.local?.getVideoTracks()[0] ?? null,
    }
  }

  private linkChanged(linkState: string): void {
    const call = this.current
    if (linkState === 'DISCONNECTED' || linkState === 'SUSPENDED') {
      this.setSignaling('reconnecting')
      // The coordinator keeps an ACTIVE call for its grace period; we claim it back on reconnect.
      if (call && established(call) && !call.rebinding) {
        call.rebinding = { giveUp: setTimeout(() => { if (this.current === call) this.teardown('leave') }, this.graceMs) }
        call.link?.paused()
        this.refresh(call)
      }
    } else if (linkState === 'FAILED' || linkState === 'IDLE') {
      this.setSignaling('disconnected')
      // Logged out (IDLE) or replaced by another login (FAILED): the call went with the session.
      if (call) this.teardown(linkState === 'IDLE' ? 'hangup' : 'leave')
    }
  }

  private get prepareWhileRinging(): boolean {
    return this.options.prepareWhileRinging ?? true
  }

  private get graceMs(): number {
    return this.options.graceMs ?? DEFAULT_CALL_GRACE_MS
  }

  /** Recomputes `reconnecting` and reports a change. */
  private refresh(call: Call): void {
    const reconnecting = isReconnecting(call)
    if (this.current !== call || call.reconnecting === reconnecting) return
    call.reconnecting = reconnecting
    this.events.emit('call', publicInfo(call))
  }

  /** A `call()` lost before its session rang: reported CLOSED, `busy`, once. */
  private lose(dial: Dial): CallInfo {
    if (dial.lost) return dial.lost
    dial.lost = { sessionId: '', peer: dial.peer, direction: 'outgoing', state: 'CLOSED', startedAt: null, reconnecting: false, endReason: 'busy' }
    this.events.emit('call', { ...dial.lost })
    return dial.lost
  }

  private setSignaling(state: SignalingState): void {
    if (this.signaling === state) return
    this.signaling = state
    this.events.emit('signalingState', { state, sdp: this.current?.link?.pc.signalingState ?? null })
  }
}
