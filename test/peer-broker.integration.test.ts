import type { Socket } from 'node:net'
import { SignJWT } from 'jose'
import pino from 'pino'
import { io } from 'socket.io-client'
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import {
  MAX_BAD_FRAMES, MAX_PEER_FRAME_BYTES, MAX_PEERS_PER_ADDRESS, MAX_PEERS_PER_APP, MAX_RATE_DROPS, PEER_FRAME_BURST,
} from '../src/relay/peer-broker'
import type { Relay, RelayOptions } from '../src/relay/server'
import { relayForTest, until } from './helpers'

const SECRET = 'peer-broker-test-secret'

type Outcome = { type: string } | { status: number }
interface BrokerPeer {
  socket: WebSocket
  /** The broker's first answer: OPEN / ID-TAKEN, or the HTTP status that refused the upgrade. */
  outcome: Outcome
  /** That first frame as sent (OPEN names the attested user with a secret). */
  first?: Record<string, unknown>
  /** Every frame the broker sent after its first. */
  received: { type: string; src?: string; payload?: unknown }[]
  closed: Promise<number>
}

/** Relays, sockets and log lines of the running test, all released after it. */
const relays: Relay[] = []
const sockets: WebSocket[] = []
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.terminate()
  for (const relay of relays.splice(0)) await relay.close()
})

/** A relay whose log lines (debug and up) the test can read. */
async function relayWithLog(options: RelayOptions = {}): Promise<{ relay: Relay; lines: Record<string, unknown>[] }> {
  const lines: Record<string, unknown>[] = []
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) })
  const relay = await relayForTest({ logger, ...options })
  relays.push(relay)
  return { relay, lines }
}

/** A raw PeerJS client claiming `id` (what the PeerJS browser client sends: `?key=&id=&token=`). */
function claim(relay: Relay, id: string, token = 'random-token', localAddress?: string): Promise<BrokerPeer> {
  const socket = new WebSocket(`ws://127.0.0.1:${relay.port}/peerjs/peerjs?key=peerjs&id=${id}&token=${token}`, { localAddress })
  sockets.push(socket)
  socket.on('error', () => undefined) // refusals and terminations are asserted through outcome and closed
  const received: BrokerPeer['received'] = []
  const closed = new Promise<number>((resolve) => socket.once('close', resolve))
  return new Promise((resolve, reject) => {
    socket.once('message', (data) => {
      socket.on('message', (more) => void received.push(JSON.parse(String(more)) as BrokerPeer['received'][number]))
      const first = JSON.parse(String(data)) as { type: string }
      resolve({ socket, outcome: { type: first.type }, first, received, closed })
    })
    socket.once('unexpected-response', (_request, response) => {
      response.resume()
      socket.terminate()
      resolve({ socket, outcome: { status: response.statusCode ?? 0 }, received, closed })
    })
    socket.once('close', () => reject(new Error(`the broker closed ${id} without an answer`)))
  })
}

/** Claims `id` until granted (at most 50 tries): the relay sees a TCP close a moment after the client does. */
async function claimUntilOpen(relay: Relay, id: string): Promise<Outcome> {
  let outcome: Outcome = { status: 0 }
  for (let attempt = 0; attempt < 50 && !('type' in outcome && outcome.type === 'OPEN'); attempt++) outcome = (await claim(relay, id)).outcome
  return outcome
}

function token(claims: { appId?: string }, sub = 'alice'): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setExpirationTime('1h').sign(new TextEncoder().encode(SECRET))
}

/** A data-connection offer in the mesh's serialization (the broker drops any other), with `fields` added. */
function offer(to: string, fields: Record<string, unknown> = { sdp: 'v=0' }): string {
  return JSON.stringify({ type: 'OFFER', dst: to, payload: { type: 'data', serialization: 'raw', ...fields } })
}

/** A signaling frame as PeerJS sends it (`metadata` is what the receiver gets as DataConnection.metadata). */
function signal(type: 'OFFER' | 'ANSWER' | 'CANDIDATE', to: string, payload: Record<string, unknown>): string {
  return JSON.stringify({ type, dst: to, payload: { connectionId: 'dc_1', type: 'data', serialization: 'raw', ...payload } })
}

/** The metadata of the frames `peer` received of `type`, in order. */
function metadataOf(peer: BrokerPeer, type: string): unknown[] {
  return peer.received.filter((frame) => frame.type === type).map((frame) => (frame.payload as { metadata?: unknown }).metadata)
}

describe('the PeerJS broker mounted on the relay', () => {
  it('leaves socket.io on a real WebSocket (no silent fallback to long-polling)', async () => {
    const relay = await relayForTest()
    relays.push(relay)
    // Polling first, then the upgrade: the path the broker's WebSocket server used to break.
    const socket = io(relay.url, { transports: ['polling', 'websocket'], reconnection: false, forceNew: true })
    try {
      await new Promise<void>((resolve, reject) => {
        socket.io.engine?.on('upgrade', () => resolve())
        socket.on('connect', () => socket.io.engine.on('upgrade', () => resolve()))
        socket.on('connect_error', reject)
        setTimeout(() => reject(new Error('socket.io never upgraded to websocket')), 5000)
      })
      expect(socket.io.engine.transport.name).toBe('websocket')
    } finally {
      socket.close()
    }
  })

  it('without a token secret, grants a peer id once with any token: a second claim of the coordinator id is refused (mesh election)', async () => {
    const relay = await relayForTest()
    relays.push(relay)
    expect((await claim(relay, 'app-coordinator', 'tok1')).outcome).toEqual({ type: 'OPEN' })
    expect((await claim(relay, 'app-coordinator', 'tok2')).outcome).toEqual({ type: 'ID-TAKEN' })
  })

  it('does not take over upgrades on other paths', async () => {
    const relay = await relayForTest()
    relays.push(relay)
    const stray = new WebSocket(`ws://127.0.0.1:${relay.port}/nowhere`)
    const outcome = await new Promise<string>((resolve) => {
      stray.once('open', () => resolve('open'))
      stray.once('error', () => resolve('refused'))
    })
    expect(outcome).toBe('refused')
  })
})

describe('with a token secret, a /peerjs claim needs a token for the id\'s app', () => {
  it('refuses a claim without a token, or with one that is no valid JWT, with 401 at the upgrade', async () => {
    const { relay } = await relayWithLog({ tokenSecret: SECRET })
    expect((await claim(relay, 'app-coordinator', '')).outcome).toEqual({ status: 401 })
    expect((await claim(relay, 'app-coordinator', 'random-token')).outcome).toEqual({ status: 401 })
    const forged = await new SignJWT({ appId: 'app' }).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').sign(new TextEncoder().encode('another secret'))
    expect((await claim(relay, 'app-coordinator', forged)).outcome).toEqual({ status: 401 })
  })

  it('lets a token for app A claim A\'s coordinator id but not B\'s, nor that of an app whose name starts with A\'s', async () => {
    const { relay } = await relayWithLog({ tokenSecret: SECRET })
    const forA = await token({ appId: 'team' })
    expect((await claim(relay, 'other-coordinator', forA)).outcome).toEqual({ status: 401 })
    expect((await claim(relay, 'team-b-coordinator', forA)).outcome).toEqual({ status: 401 })
    expect((await claim(relay, 'team-coordinator', `${forA}~nonce1`)).outcome).toEqual({ type: 'OPEN' })
    // Another browser with the same JWT (its own nonce after '~') is refused the id, not handed it.
    expect((await claim(relay, 'team-coordinator', `${forA}~nonce2`)).outcome).toEqual({ type: 'ID-TAKEN' })
    // appIds may contain '-': the id's app is everything before its last '-'.
    expect((await claim(relay, 'team-b-coordinator', await token({ appId: 'team-b' }))).outcome).toEqual({ type: 'OPEN' })
  })
})

describe('with a token secret, the broker attests who sent each signaling frame (the mesh coordinator has no secret)', () => {
  it('tells a socket on OPEN whom it authenticated it as', async () => {
    const { relay } = await relayWithLog({ tokenSecret: SECRET })
    const bob = await claim(relay, 'team-coordinator', `${await token({ appId: 'team' }, 'bob')}~n1`)
    expect(bob.first).toEqual({ type: 'OPEN', verifiedUserId: 'bob' })
  })

  it('stamps the sender\'s verified user into the metadata of every OFFER, ANSWER and CANDIDATE it forwards, keeping the rest', async () => {
    const { relay } = await relayWithLog({ tokenSecret: SECRET })
    const coordinator = await claim(relay, 'team-coordinator', await token({ appId: 'team' }, 'bob'))
    const alice = await claim(relay, 'team-a1b2', await token({ appId: 'team' }, 'alice'))
    alice.socket.send(signal('OFFER', 'team-coordinator', { metadata: { note: 'kept' } }))
    alice.socket.send(signal('ANSWER', 'team-coordinator', {}))
    alice.socket.send(signal('CANDIDATE', 'team-coordinator', { metadata: 'not an object' }))
    await until(() => coordinator.received.length === 3)
    expect(coordinator.received.map((frame) => frame.src)).toEqual(['team-a1b2', 'team-a1b2', 'team-a1b2'])
    expect(metadataOf(coordinator, 'OFFER')).toEqual([{ note: 'kept', verifiedUserId: 'alice' }])
    expect(metadataOf(coordinator, 'ANSWER')).toEqual([{ verifiedUserId: 'alice' }])
    expect(metadataOf(coordinator, 'CANDIDATE')).toEqual([{ verifiedUserId: 'alice' }])
  })

  it('overwrites a verifiedUserId the sender forged: mallory, with a valid token of the app, cannot pass for alice', async () => {
    const { relay } = await relayWithLog({ tokenSecret: SECRET })
    const coordinator = await claim(relay, 'team-coordinator', await token({ appId: 'team' }, 'alice'))
    const mallory = await claim(relay, 'team-m4110', await token({ appId: 'team' }, 'mallory'))
    mallory.socket.send(signal('OFFER', 'team-coordinator', { metadata: { verifiedUserId: 'alice' } }))
    mallory.socket.send(signal('CANDIDATE', 'team-coordinator', { metadata: { verifiedUserId: null } }))
    await until(() => coordinator.received.length === 2)
    expect(metadataOf(coordinator, 'OFFER')).toEqual([{ verifiedUserId: 'mallory' }])
    expect(metadataOf(coordinator, 'CANDIDATE')).toEqual([{ verifiedUserId: 'mallory' }])
  })

  it('drops a signaling frame without a payload object (it would carry no stamp)', async () => {
    const { relay } = await relayWithLog({ tokenSecret: SECRET })
    const coordinator = await claim(relay, 'team-coordinator', await token({ appId: 'team' }, 'bob'))
    const alice = await claim(relay, 'team-a1b2', await token({ appId: 'team' }, 'alice'))
    alice.socket.send(JSON.stringify({ type: 'OFFER', dst: 'team-coordinator', payload: 'v=0' }))
    alice.socket.send(JSON.stringify({ type: 'CANDIDATE', dst: 'team-coordinator' }))
    alice.socket.send(signal('OFFER', 'team-coordinator', { marker: true }))
    await until(() => coordinator.received.length > 0)
    expect(coordinator.received.map((frame) => (frame.payload as { marker?: boolean }).marker)).toEqual([true])
  })

  it('drops a data offer in another serialization than the mesh codec (a BinaryPack offer would have the coordinator decode bytes)', async () => {
    const { relay } = await relayWithLog({ tokenSecret: SECRET })
    const coordinator = await claim(relay, 'team-coordinator', await token({ appId: 'team' }, 'bob'))
    const alice = await claim(relay, 'team-a1b2', await token({ appId: 'team' }, 'alice'))
    alice.socket.send(signal('OFFER', 'team-coordinator', { serialization: 'binary', marker: 'binary' }))
    alice.socket.send(signal('OFFER', 'team-coordinator', { serialization: 'no-such-codec', marker: 'unknown' }))
    alice.socket.send(signal('OFFER', 'team-coordinator', { marker: 'raw' }))
    await until(() => coordinator.received.some((frame) => frame.type === 'OFFER'))
    expect(coordinator.received.filter((frame) => frame.type === 'OFFER').map((frame) => (frame.payload as { marker: string }).marker)).toEqual(['raw'])
  })

  it('without a secret attests nothing: OPEN names no one and a verifiedUserId a peer writes is deleted', async () => {
    const { relay } = await relayWithLog()
    const coordinator = await claim(relay, 'team-coordinator')
    expect(coordinator.first).toEqual({ type: 'OPEN' })
    const alice = await claim(relay, 'team-a1b2', await token({ appId: 'team' }, 'alice'))
    alice.socket.send(signal('OFFER', 'team-coordinator', { metadata: { verifiedUserId: 'alice', note: 'kept' } }))
    await until(() => coordinator.received.length === 1)
    expect(metadataOf(coordinator, 'OFFER')).toEqual([{ note: 'kept' }])
  })
})

describe('limits of the PeerJS broker', () => {
  it(`refuses peer ids past ${MAX_PEERS_PER_ADDRESS} from one client address with 429, and grants one again once one closes`, async () => {
    const { relay } = await relayWithLog()
    const peers = await Promise.all(Array.from({ length: MAX_PEERS_PER_ADDRESS }, (_, i) => claim(relay, `app-p${i}`)))
    expect(peers.every((peer) => 'type' in peer.outcome && peer.outcome.type === 'OPEN')).toBe(true)
    expect((await claim(relay, 'app-extra')).outcome).toEqual({ status: 429 })
    // Another address is not affected.
    expect((await claim(relay, 'app-elsewhere', 'tok', '127.0.0.2')).outcome).toEqual({ type: 'OPEN' })
    peers[0].socket.close()
    await peers[0].closed
    expect(await claimUntilOpen(relay, 'app-extra')).toEqual({ type: 'OPEN' })
  })

  it(`refuses peer ids past ${MAX_PEERS_PER_APP} in one app with 429 while another app still gets ids`, async () => {
    const { relay } = await relayWithLog()
    const addresses = Math.ceil(MAX_PEERS_PER_APP / MAX_PEERS_PER_ADDRESS)
    for (let a = 0; a < addresses; a++) {
      const count = Math.min(MAX_PEERS_PER_ADDRESS, MAX_PEERS_PER_APP - a * MAX_PEERS_PER_ADDRESS)
      const batch = await Promise.all(Array.from({ length: count }, (_, i) => claim(relay, `crowd-a${a}p${i}`, 'tok', `127.0.1.${a + 1}`)))
      expect(batch.every((peer) => 'type' in peer.outcome && peer.outcome.type === 'OPEN')).toBe(true)
    }
    expect((await claim(relay, 'crowd-coordinator', 'tok', '127.0.2.1')).outcome).toEqual({ status: 429 })
    expect((await claim(relay, 'quiet-coordinator', 'tok', '127.0.2.1')).outcome).toEqual({ type: 'OPEN' })
  }, 60_000)

  it('closes a socket that sends a 1 MiB frame (over 64 KiB) while the other peers keep exchanging offers', async () => {
    const { relay, lines } = await relayWithLog()
    const alice = await claim(relay, 'app-alice')
    const bob = await claim(relay, 'app-bob')
    const mallory = await claim(relay, 'app-mallory')
    mallory.socket.send(offer('app-bob', { sdp: 'x'.repeat(1024 * 1024) }))
    await mallory.closed
    expect(lines.find((line) => line.peer === 'app-mallory')?.reason).toMatch(/Max payload size exceeded/)
    expect(MAX_PEER_FRAME_BYTES).toBe(64 * 1024)
    alice.socket.send(offer('app-bob'))
    await until(() => bob.received.some((frame) => frame.type === 'OFFER' && frame.src === 'app-alice'))
    expect(bob.received.some((frame) => frame.src === 'app-mallory')).toBe(false)
  })

  it(`drops garbage frames with one warning line and no stack trace, and closes the socket after ${MAX_BAD_FRAMES}`, async () => {
    const { relay, lines } = await relayWithLog()
    const mallory = await claim(relay, 'app-mallory')
    const garbage = ['not json', '{"type":"NOPE"}', '[1,2]', `{"type":"OFFER","dst":"app-x","payload":${'['.repeat(40)}${']'.repeat(40)}}`, '{{{']
    for (let i = 0; i < 50; i++) mallory.socket.send(garbage[i % garbage.length])
    await mallory.closed
    const mine = lines.filter((line) => line.peer === 'app-mallory')
    expect(mine.map((line) => line.msg)).toEqual(['peerjs frame dropped (later ones on this socket are counted, not logged)', 'peerjs socket closed'])
    expect(mine[1].reason).toBe(`${MAX_BAD_FRAMES} bad frames`)
    expect(lines.some((line) => JSON.stringify(line).includes('"stack"'))).toBe(false)
  })

  it('does not deliver an offer addressed to a peer of another app', async () => {
    const { relay } = await relayWithLog()
    const mallory = await claim(relay, 'x-mallory')
    const echo = await claim(relay, 'x-echo')
    const target = await claim(relay, 'y-coordinator')
    const friend = await claim(relay, 'y-friend')
    mallory.socket.send(offer('y-coordinator', { from: 'mallory' }))
    mallory.socket.send(offer('x-echo'))
    await until(() => echo.received.length > 0) // the broker has handled mallory's first frame
    friend.socket.send(offer('y-coordinator', { from: 'friend' }))
    await until(() => target.received.length > 0)
    expect(target.received.map((frame) => frame.src)).toEqual(['y-friend'])
  })

  it('answers an offer to an absent peer with EXPIRE at once instead of keeping it for the peer', async () => {
    const { relay } = await relayWithLog()
    const alice = await claim(relay, 'app-alice')
    alice.socket.send(offer('app-late', { n: 'kept?' }))
    await until(() => alice.received.some((frame) => frame.type === 'EXPIRE' && frame.src === 'app-late'), 2000)
    const late = await claim(relay, 'app-late')
    expect(late.outcome).toEqual({ type: 'OPEN' })
    alice.socket.send(offer('app-late', { n: 'marker' }))
    await until(() => late.received.length > 0)
    expect(late.received[0].payload).toMatchObject({ n: 'marker' })
  })

  it(`drops frames over ${PEER_FRAME_BURST} at once (100/s sustained)`, async () => {
    const { relay } = await relayWithLog()
    const alice = await claim(relay, 'app-alice')
    const bob = await claim(relay, 'app-bob')
    for (let i = 0; i < PEER_FRAME_BURST + 100; i++) alice.socket.send(offer('app-bob', { n: i }))
    // A marker once the bucket has refilled a little; frames on one socket arrive in order.
    const marker = setInterval(() => alice.socket.send(JSON.stringify({ type: 'ANSWER', dst: 'app-bob', payload: { marker: true } })), 20)
    try {
      await until(() => bob.received.some((frame) => frame.type === 'ANSWER'))
    } finally {
      clearInterval(marker)
    }
    const offers = bob.received.slice(0, bob.received.findIndex((frame) => frame.type === 'ANSWER'))
    expect(offers.length).toBeGreaterThanOrEqual(PEER_FRAME_BURST)
    expect(offers.length).toBeLessThan(PEER_FRAME_BURST + 100)
  })

  it('closes a socket that keeps flooding past the rate', async () => {
    const { relay, lines } = await relayWithLog()
    const mallory = await claim(relay, 'app-mallory')
    for (let i = 0; i < PEER_FRAME_BURST + MAX_RATE_DROPS + 500; i++) mallory.socket.send('{"type":"HEARTBEAT"}')
    await mallory.closed
    expect(lines.find((line) => line.peer === 'app-mallory' && line.msg === 'peerjs socket closed')?.reason).toMatch(/frames\/s/)
  })

  it('terminates a peer that never reads once 4 MiB are queued for it, which frees its id', async () => {
    const { relay, lines } = await relayWithLog()
    const victim = await claim(relay, 'app-victim')
    ;(victim.socket as unknown as { _socket: Socket })._socket.pause()
    const senders = await Promise.all([1, 2, 3].map((n) => claim(relay, `app-sender${n}`)))
    const big = { sdp: 'x'.repeat(60 * 1024) }
    for (const sender of senders) for (let i = 0; i < PEER_FRAME_BURST; i++) sender.socket.send(offer('app-victim', big))
    await until(() => lines.some((line) => line.peer === 'app-victim' && line.msg === 'peerjs socket closed'), 20_000)
    expect(lines.find((line) => line.peer === 'app-victim' && line.msg === 'peerjs socket closed')?.reason).toMatch(/does not read/)
    expect(await claimUntilOpen(relay, 'app-victim')).toEqual({ type: 'OPEN' })
  }, 30_000)
})
