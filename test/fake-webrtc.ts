import { afterAll, beforeAll } from 'vitest'

/**
 * Just enough of the browser's media and RTCPeerConnection for the SDK's CallClient to run
 * its signaling in Node: descriptions and candidates are recorded, the media path connects
 * once both descriptions are set, and a test moves it (`setConnectionState`) to play a
 * network failure. No media flows. Install for one test file, and remove after.
 */

let nextSdp = 1

export class FakePeerConnection extends EventTarget {
  static readonly all: FakePeerConnection[] = []
  localDescription: RTCSessionDescriptionInit | null = null
  remoteDescription: RTCSessionDescriptionInit | null = null
  signalingState: RTCSignalingState = 'stable'
  connectionState: RTCPeerConnectionState = 'new'
  /** Offers made with `iceRestart: true`. */
  restarts = 0
  readonly addedCandidates: RTCIceCandidateInit[] = []
  onicecandidate: ((event: { candidate: null }) => void) | null = null
  ontrack: ((event: unknown) => void) | null = null
  onconnectionstatechange: (() => void) | null = null
  onsignalingstatechange: (() => void) | null = null

  constructor(readonly configuration: RTCConfiguration = {}) {
    super()
    FakePeerConnection.all.push(this)
  }

  private readonly transceivers: { sender: { track: unknown; replaceTrack(track: unknown): Promise<void> }; receiver: { track: { kind: string } } }[] = []

  addTrack(): void {}

  addTransceiver(kind: 'audio' | 'video'): void {
    this.transceivers.push({ sender: { track: null, async replaceTrack(track) { this.track = track } }, receiver: { track: { kind } } })
  }

  getTransceivers() {
    return this.transceivers
  }

  async createOffer(options: { iceRestart?: boolean } = {}): Promise<RTCSessionDescriptionInit> {
    if (options.iceRestart) this.restarts++
    return { type: 'offer', sdp: `v=0 fake offer ${nextSdp++}${options.iceRestart ? ' ice-restart' : ''}` }
  }

  async createAnswer(): Promise<RTCSessionDescriptionInit> {
    return { type: 'answer', sdp: `v=0 fake answer ${nextSdp++}` }
  }

  async setLocalDescription(description: RTCSessionDescriptionInit): Promise<void> {
    this.localDescription = description
    this.setSignaling(description.type === 'offer' ? 'have-local-offer' : 'stable')
  }

  async setRemoteDescription(description: RTCSessionDescriptionInit): Promise<void> {
    if (description.type === 'answer' && this.signalingState !== 'have-local-offer') throw new Error('InvalidStateError: no local offer')
    this.remoteDescription = description
    this.setSignaling(description.type === 'offer' ? 'have-remote-offer' : 'stable')
  }

  async addIceCandidate(candidate: RTCIceCandidateInit): Promise<void> {
    this.addedCandidates.push(candidate)
  }

  async getStats(): Promise<Map<string, unknown>> {
    return new Map()
  }

  /** The test plays the media path: `disconnected`, `failed`, `connected`… */
  setConnectionState(state: RTCPeerConnectionState): void {
    if (this.connectionState === 'closed' || this.connectionState === state) return
    this.connectionState = state
    this.onconnectionstatechange?.()
    this.dispatchEvent(new Event('connectionstatechange'))
  }

  close(): void {
    this.connectionState = 'closed'
    this.signalingState = 'closed'
  }

  private setSignaling(state: RTCSignalingState): void {
    this.signalingState = state
    this.onsignalingstatechange?.()
    // The first negotiation connects the media path; later ones (ICE restarts) leave it to the test.
    if (state === 'stable' && this.localDescription && this.remoteDescription && this.connectionState === 'new') {
      queueMicrotask(() => this.setConnectionState('connected'))
    }
  }
}

class FakeTrack {
  enabled = true
  readyState: 'live' | 'ended' = 'live'
  constructor(readonly kind: 'audio' | 'video') {}
  stop(): void { this.readyState = 'ended' }
}

class FakeMediaStream {
  private readonly tracks: FakeTrack[]
  constructor(tracks: FakeTrack[] = [new FakeTrack('audio'), new FakeTrack('video')]) { this.tracks = tracks }
  getTracks(): FakeTrack[] { return this.tracks }
  getAudioTracks(): FakeTrack[] { return this.tracks.filter((track) => track.kind === 'audio') }
  getVideoTracks(): FakeTrack[] { return this.tracks.filter((track) => track.kind === 'video') }
}

const NAMES = ['RTCPeerConnection', 'MediaStream', 'navigator'] as const

/** Puts the fakes on globalThis; returns a function that restores what was there. */
export function installFakeWebRTC(): () => void {
  const saved = NAMES.map((name) => [name, Object.getOwnPropertyDescriptor(globalThis, name)] as const)
  const navigator = { ...(globalThis as { navigator?: object }).navigator, mediaDevices: { getUserMedia: async () => new FakeMediaStream() } }
  for (const [name, value] of [['RTCPeerConnection', FakePeerConnection], ['MediaStream', FakeMediaStream], ['navigator', navigator]] as const) {
    Object.defineProperty(globalThis, name, { value, configurable: true, writable: true })
  }
  return () => {
    for (const [name, descriptor] of saved) {
      if (descriptor) Object.defineProperty(globalThis, name, descriptor)
      else delete (globalThis as Record<string, unknown>)[name]
    }
    FakePeerConnection.all.length = 0
  }
}

/** Installs the fakes for the test file that calls this (before its first test), and removes them after its last. */
export function useFakeWebRTC(): void {
  let uninstall: () => void
  beforeAll(() => { uninstall = installFakeWebRTC() })
  afterAll(() => uninstall())
}
