import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FakePeerConnection, installFakeWebRTC } from '../../../test/fake-webrtc'
import { PeerLink, toConnectionState, type PeerLinkOptions } from './peer-link'

let uninstall: () => void
beforeAll(() => { uninstall = installFakeWebRTC() })
afterAll(() => uninstall())

function link(options: Partial<PeerLinkOptions> = {}) {
  const sent: string[] = []
  const states: string[] = []
  const peer = new PeerLink({
    configuration: () => ({ iceServers: [] }),
    signaling: {
      offer: async (d) => { sent.push(`offer ${d.sdp}`) },
      answer: async (d) => { sent.push(`answer ${d.sdp}`) },
      candidate: async (c) => { sent.push(`candidate ${c.candidate}`) },
    },
    offerer: true,
    graceMs: 60_000,
    hooks: { connectionState: (state) => states.push(state) },
    ...options,
  })
  return { peer, pc: peer.pc as unknown as FakePeerConnection, sent, states }
}

const gather = (pc: FakePeerConnection, line: string) =>
  pc.onicecandidate?.({ candidate: { toJSON: () => ({ candidate: line, sdpMid: '0', sdpMLineIndex: 0 }) } } as never)

describe('one peer connection for one signaling relationship', () => {
  it('is made with the configuration given', () => {
    const { pc } = link({ configuration: () => ({ iceServers: [{ urls: 'stun:10.99.0.1:3478' }] }) })
    expect(pc.configuration.iceServers).toEqual([{ urls: 'stun:10.99.0.1:3478' }])
  })

  it('local candidates wait in the outbox until the offer is out, then go at once', async () => {
    const { peer, pc, sent } = link()
    gather(pc, 'candidate:a')
    expect(sent).toEqual([])
    await peer.offer()
    expect(sent.map((s) => s.split(' ')[0])).toEqual(['offer', 'candidate'])
    gather(pc, 'candidate:b')
    expect(sent.at(-1)).toBe('candidate candidate:b')
  })

  it('remote candidates wait for the remote description, and for the owner to accept them (a ringing callee)', async () => {
    let answered = false
    const { peer, pc } = link({ offerer: false, acceptsRemoteCandidates: () => answered })
    peer.addRemoteCandidate('candidate:early')
    expect(pc.addedCandidates).toEqual([])
    await peer.prepareAnswer({ type: 'offer', sdp: 'v=0 offer' })
    peer.addRemoteCandidate({ candidate: 'candidate:ringing', sdpMid: '0', sdpMLineIndex: 0 })
    expect(pc.addedCandidates).toEqual([])
    answered = true
    await peer.applyRemoteCandidates()
    expect(pc.addedCandidates.map((c) => c.candidate)).toEqual(['candidate:early', 'candidate:ringing'])
    expect(pc.addedCandidates[0]).toEqual({ candidate: 'candidate:early', sdpMid: '0', sdpMLineIndex: 0 }) // a bare line gets the first m-line
  })

  it('a failed path is reported, not recovered, while the owner says so; recovered (an ICE restart offer) once it does', async () => {
    let recovers = false
    const failures: string[] = []
    const { peer, pc, sent } = link({ recovers: () => recovers, hooks: { failed: () => failures.push('failed') } })
    await peer.offer()
    await peer.setAnswer({ type: 'answer', sdp: 'v=0 answer' })
    pc.setConnectionState('failed')
    expect([failures, pc.restarts]).toEqual([['failed'], 0])
    recovers = true
    pc.setConnectionState('connected')
    pc.setConnectionState('failed')
    await new Promise((resolve) => setTimeout(resolve, 0))
    expect(pc.restarts).toBe(1)
    expect(sent.at(-1)).toContain('ice-restart')
    expect(peer.troubled).toBe(true)
    peer.close()
  })

  it('once closed, the connection is closed and no hook hears anything more', () => {
    const { peer, pc, states } = link()
    peer.close()
    expect(pc.connectionState).toBe('closed')
    pc.onconnectionstatechange?.()
    expect(states).toEqual([])
    expect(toConnectionState('closed')).toBe('disconnected')
  })
})
