import { Writable } from 'node:stream'
import { SignJWT } from 'jose'
import pino from 'pino'
import { beforeEach, describe, expect, it } from 'vitest'
import { io as socketIo } from 'socket.io-client'
import WebSocket from 'ws'
import { CLU_INTERVAL_MS } from '../src/engine/calls'
import { MAX_FRAME_DEPTH, MAX_OPAQUE_DEPTH } from '../src/protocol/bounds'
import { CALL_ERRORS, type CallErrorName, type CallServerMessage } from '../src/protocol/calls'
import { LOGIN_DEADLINE_MS } from '../src/relay/admission'
import { CALL_FRAME_RATE } from '../src/relay/calls-ws'
import { MAX_OUTBOUND_BYTES } from '../src/relay/outbound'
import type { Relay } from '../src/relay/server'
import { CallClient, RTM, type CallEventMap } from '../src/sdk'
import type { ServerEvent } from '../src/protocol/events'
import { client, relayForTest, relaysPerTest, spread, until } from './helpers'
import { dropSocketOf } from './relay-control'
import { RawInbox, openRawWs, rawWsUrl, tokenOf, upgradeStatusAt } from './raw-ws'

/** Records every message of one call client; `next` waits for the first unconsumed match. */
class Inbox extends RawInbox<CallServerMessage> {
  private cursor = 0

  /** The next message after the last one taken that matches; earlier non-matching ones are skipped. */
  protected take(match: (msg: CallServerMessage) => boolean): number {
    const index = this.seen.findIndex((msg, i) => i >= this.cursor && match(msg))
    if (index >= 0) this.cursor = index + 1
    return index
  }

  protected missing(): string {
    return `no matching call message; saw ${JSON.stringify(this.seen.slice(this.cursor))}`
  }

  cmd<C extends CallServerMessage['cmd']>(cmd: C, extra: (msg: Extract<CallServerMessage, { cmd: C }>) => boolean = () => true) {
    return this.next((msg) => msg.cmd === cmd && extra(msg as Extract<CallServerMessage, { cmd: C }>)) as Promise<Extract<CallServerMessage, { cmd: C }>>
  }
}

/** A plain WebSocket client of /ws/calls, as any non-SDK program would be. */
class RawCallClient {
  readonly inbox = new Inbox()
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.inbox.push(JSON.parse(data.toString()) as CallServerMessage))
  }

  /** Opens `/ws/calls?<query>`; `appId`, `token` and `userId` say who the socket is. */
  static async open(relay: Relay, query: Record<string, string> = {}): Promise<RawCallClient> {
    return new RawCallClient(await openRawWs(callsUrl(relay, query)))
  }

  send(msg: unknown): void {
    this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg))
  }

  async register(sId: string): Promise<void> {
    this.send({ cmd: 'sId', sId })
    expect(await this.inbox.cmd('sId')).toEqual({ cmd: 'sId', sId })
  }

  async expectError(name: CallErrorName, msg: unknown): Promise<void> {
    this.send(msg)
    expect(await this.inbox.cmd('error'), `${name} for ${JSON.stringify(msg)}`).toMatchObject({ code: CALL_ERRORS[name][0] })
  }
}

const callsUrl = (relay: Relay, query: Record<string, string>) => rawWsUrl(relay, '/ws/calls', query)
/** The HTTP status a refused upgrade answered with. */
const upgradeStatus = (relay: Relay, query: Record<string, string>) => upgradeStatusAt(callsUrl(relay, query))

const secret = 'calls-test-secret'
const tokenFor = (userId: string, claims: Record<string, unknown> = {}) => tokenOf(secret, userId, claims)

/** Nested arrays `depth` levels deep, as JSON text (built without recursion). */
const nestedJson = (depth: number) => `${'['.repeat(depth)}0${']'.repeat(depth)}`

const offer = { type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n' }
const answer = { type: 'answer', sdp: 'v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\n' }
const candidate = { candidate: 'candidate:1 1 udp 2122260223 10.99.0.1 50000 typ host', sdpMid: '0', sdpMLineIndex: 0 }

const { cleanup, start } = relaysPerTest()
let relay: Relay
beforeEach(async () => { relay = await start() })

/** A plain WebSocket client of the test's relay (app 'demo' unless `query` names one), registered as `sId` if given. */
async function raw(sId?: string, query: Record<string, string> = {}, on: Relay = relay): Promise<RawCallClient> {
  const c = await RawCallClient.open(on, query)
  cleanup.push(() => c.ws.terminate())
  if (sId) await c.register(sId)
  return c
}

/** `caller` calls `callee` (registered as `calleeSId`), who accepts: resolves with the ACTIVE session's id. */
async function activeCall(caller: RawCallClient, callee: RawCallClient, calleeSId: string): Promise<string> {
  caller.send({ cmd: 'session', opponentId: calleeSId })
  const { sessionId } = await caller.inbox.cmd('ssu')
  caller.send({ cmd: 'call', sessionId, offer })
  await callee.inbox.cmd('call')
  callee.send({ cmd: 'accept', sessionId, answer })
  await caller.inbox.cmd('ssu', (m) => m.state === 3)
  return sessionId
}

/** SDK clients log in to app 'test' (test/helpers.ts); raw clients that meet them name it. */
const testApp = { appId: 'test' }

describe('/ws/calls between two plain WebSocket clients', () => {
  it('runs a whole call: list, session, call, accept, ICE both ways, notify, stop', async () => {
    const alice = await raw('alice')
    const bob = await raw('bob')
    expect(await alice.inbox.cmd('clu', (m) => m.list.length === 2)).toEqual({ cmd: 'clu', list: [{ sId: 'alice', state: 1 }, { sId: 'bob', state: 1 }] })

    alice.send({ cmd: 'session', opponentId: 'bob' })
    const { sessionId } = await alice.inbox.cmd('ssu', (m) => m.state === 1)
    alice.send({ cmd: 'call', sessionId, offer })
    expect(await bob.inbox.cmd('call')).toEqual({ cmd: 'call', sessionId, offer, sId: 'alice' })
    await bob.inbox.cmd('ssu', (m) => m.sessionId === sessionId && m.state === 2)
    await alice.inbox.cmd('ssu', (m) => m.state === 2)

    alice.send({ cmd: 'icecandidate', sessionId, icecandidate: candidate })
    expect(await bob.inbox.cmd('icecandidate')).toEqual({ cmd: 'icecandidate', sessionId, icecandidate: candidate })

    bob.send({ cmd: 'accept', sessionId, answer })
    expect(await alice.inbox.cmd('accept')).toEqual({ cmd: 'accept', sessionId, answer })
    await alice.inbox.cmd('ssu', (m) => m.state === 3)
    await bob.inbox.cmd('ssu', (m) => m.state === 3)
    const carol = await raw('carol')
    await carol.inbox.cmd('clu', (m) => m.list.filter((entry) => entry.state === 2).length === 2)

    bob.send({ cmd: 'icecandidate', sessionId, icecandidate: candidate })
    expect(await alice.inbox.cmd('icecandidate')).toMatchObject({ sessionId })
    alice.send({ cmd: 'notify', opponentId: 'bob', type: 'mute', data: { audio: false } })
    expect(await bob.inbox.cmd('notify')).toEqual({ cmd: 'notify', type: 'mute', data: { audio: false }, sId: 'alice' })

    alice.send({ cmd: 'stop', sessionId })
    expect(await bob.inbox.cmd('stop')).toEqual({ cmd: 'stop', sessionId })
    await bob.inbox.cmd('ssu', (m) => m.state === 4)
    await alice.inbox.cmd('ssu', (m) => m.state === 4)
    const waiting = [{ sId: 'alice', state: 1 }, { sId: 'bob', state: 1 }, { sId: 'carol', state: 1 }]
    expect(await alice.inbox.cmd('clu')).toEqual({ cmd: 'clu', list: waiting })
    expect(await bob.inbox.cmd('clu')).toEqual({ cmd: 'clu', list: waiting })
    // In the call, alice and bob got no list updates: carol's arrival reached them only now.
    expect(alice.inbox.seen.filter((m) => m.cmd === 'clu' && m.list.length === 3)).toHaveLength(1)
  })

  it('rejects a ringing call', async () => {
    const alice = await raw('alice')
    const bob = await raw('bob')
    alice.send({ cmd: 'session', opponentId: 'bob' })
    const { sessionId } = await alice.inbox.cmd('ssu')
    alice.send({ cmd: 'call', sessionId, offer })
    await bob.inbox.cmd('call')
    bob.send({ cmd: 'reject', sessionId })
    expect(await alice.inbox.cmd('reject')).toEqual({ cmd: 'reject', sessionId })
    await alice.inbox.cmd('ssu', (m) => m.state === 4)
    await bob.inbox.cmd('ssu', (m) => m.state === 4)
  })

  it('a party whose socket closes mid-call: the other gets leave and CLOSED once the grace period is over (300 ms here), and the sId is free again', async () => {
    const quick = await relayForTest({ engine: { callGraceMs: 300 } })
    cleanup.push(() => void quick.close())
    const alice = await raw('alice', {}, quick)
    const bob = await raw('bob', {}, quick)
    const sessionId = await activeCall(alice, bob, 'bob')
    const closedAt = Date.now()
    bob.ws.terminate()
    expect(await alice.inbox.cmd('leave')).toEqual({ cmd: 'leave', sessionId })
    expect(Date.now() - closedAt).toBeGreaterThanOrEqual(300)
    expect(await alice.inbox.cmd('ssu')).toEqual({ cmd: 'ssu', sessionId, state: 4 })
    expect(await alice.inbox.cmd('clu')).toEqual({ cmd: 'clu', list: [{ sId: 'alice', state: 1 }] })
    await raw('bob', {}, quick)
  })

  // Spread: waits on the call registry inside the process (relay.coordinator), which in scaled mode is in the partition's owner.
  it.skipIf(spread)('a party whose socket dropped mid-call claims it back from a new socket (ours, beside seed 002): the other party hears no leave', async () => {
    const alice = await raw('alice')
    const bob = await raw('bob')
    const sessionId = await activeCall(alice, bob, 'bob')
    bob.ws.terminate()
    await until(() => relay.coordinator.callsOf('demo')?.list().length === 1) // the relay saw it close
    const back = await raw('bob')
    back.send({ cmd: 'claim', sessionId, opponentId: 'alice' })
    expect(await back.inbox.cmd('ssu')).toEqual({ cmd: 'ssu', sessionId, state: 3 })
    expect(await alice.inbox.cmd('ssu')).toEqual({ cmd: 'ssu', sessionId, state: 3 })
    back.send({ cmd: 'icecandidate', sessionId, icecandidate: candidate })
    expect(await alice.inbox.cmd('icecandidate')).toEqual({ cmd: 'icecandidate', sessionId, icecandidate: candidate })
    expect(alice.inbox.seen.filter((m) => m.cmd === 'leave')).toEqual([])
  })

  it('answers every error with its code and changes nothing', async () => {
    const stranger = await raw()
    await stranger.expectError('MALFORMED_FRAME', 'not json')
    await stranger.expectError('MALFORMED_FRAME', { cmd: 'dance' })
    await stranger.expectError('MALFORMED_FRAME', { cmd: 'sId', sId: 'has space' })
    stranger.ws.send(Buffer.from([1, 2, 3]), { binary: true })
    expect(await stranger.inbox.cmd('error')).toMatchObject({ code: CALL_ERRORS.MALFORMED_FRAME[0], message: expect.stringContaining('binary') })
    await stranger.expectError('NO_SID', { cmd: 'session', opponentId: 'alice' })

    const alice = await raw('alice')
    const bob = await raw('bob')
    const carol = await raw('carol')
    await stranger.expectError('SID_TAKEN', { cmd: 'sId', sId: 'alice' })
    await alice.expectError('UNKNOWN_OPPONENT', { cmd: 'session', opponentId: 'nobody' })
    await alice.expectError('SELF_TARGET', { cmd: 'session', opponentId: 'alice' })
    await alice.expectError('UNKNOWN_SESSION', { cmd: 'call', sessionId: 'no-such-session', offer })

    alice.send({ cmd: 'session', opponentId: 'bob' })
    const { sessionId } = await alice.inbox.cmd('ssu', (m) => m.state === 1)
    await alice.expectError('WRONG_STATE', { cmd: 'icecandidate', sessionId, icecandidate: candidate })
    await bob.expectError('UNKNOWN_SESSION', { cmd: 'accept', sessionId, answer }) // a NEW session is the creator's alone
    await carol.expectError('NOT_A_PARTY', { cmd: 'call', sessionId, offer })
    alice.send({ cmd: 'call', sessionId, offer })
    await bob.inbox.cmd('call')
    await alice.expectError('WRONG_STATE', { cmd: 'accept', sessionId, answer })
    await alice.expectError('WRONG_STATE', { cmd: 'reject', sessionId })
    await carol.expectError('OPPONENT_BUSY', { cmd: 'session', opponentId: 'bob' })
    await alice.expectError('BUSY', { cmd: 'session', opponentId: 'carol' })
    await alice.expectError('BUSY', { cmd: 'sId', sId: 'alice2' })

    // Nothing above disturbed the ringing call.
    bob.send({ cmd: 'accept', sessionId, answer })
    expect(await alice.inbox.cmd('accept')).toMatchObject({ sessionId })
  })
})

describe('the native protocol reaches the same calls', () => {
  /** An SDK client's call messages, as its `call` wire events. */
  function callInbox(rtm: RTM): Inbox {
    const inbox = new Inbox()
    rtm.wireHandlers.set('call', (event: ServerEvent) => { if (event.kind === 'call') inbox.push(event.msg) })
    return inbox
  }

  it('a plain WebSocket client calls a logged-in SDK user, whose sId is their userId', async () => {
    const rtm = await client(relay, 'bob')
    cleanup.push(() => rtm.release())
    const bob = callInbox(rtm)
    await rtm.request('call', { cmd: 'sId' })
    expect(await bob.cmd('sId')).toEqual({ cmd: 'sId', sId: 'bob' })

    const alice = await raw('alice', testApp)
    await alice.inbox.cmd('clu', (m) => m.list.some((entry) => entry.sId === 'bob'))
    alice.send({ cmd: 'session', opponentId: 'bob' })
    const { sessionId } = await alice.inbox.cmd('ssu')
    alice.send({ cmd: 'call', sessionId, offer })
    expect(await bob.cmd('call')).toEqual({ cmd: 'call', sessionId, offer, sId: 'alice' })
    await rtm.request('call', { cmd: 'accept', sessionId, answer })
    expect(await alice.inbox.cmd('accept')).toEqual({ cmd: 'accept', sessionId, answer })
    await rtm.request('call', { cmd: 'icecandidate', sessionId, icecandidate: candidate })
    expect(await alice.inbox.cmd('icecandidate')).toMatchObject({ icecandidate: candidate })

    await rtm.logout() // a deliberate sign-out: alice is told at once, without the grace a dropped link gets
    expect(await alice.inbox.cmd('leave')).toEqual({ cmd: 'leave', sessionId })
  })

  it('an SDK request with a protocol error rejects with the call code and also gets the error event', async () => {
    const rtm = await client(relay, 'bob')
    cleanup.push(() => rtm.release())
    const bob = callInbox(rtm)
    await expect(rtm.request('call', { cmd: 'session', opponentId: 'x' })).rejects.toMatchObject({ errorCode: CALL_ERRORS.NO_SID[0], name: 'NO_SID', operation: 'call' })
    expect(await bob.cmd('error')).toMatchObject({ code: CALL_ERRORS.NO_SID[0] })
    await expect(rtm.request('call', { cmd: 'bogus' })).rejects.toMatchObject({ errorCode: CALL_ERRORS.MALFORMED_FRAME[0] })
  })

  it('a socket.io client that never logs in cannot use calls: NOT_LOGIN (-10002), and registers nothing', async () => {
    const socket = socketIo(relay.url, { transports: ['websocket'], forceNew: true })
    cleanup.push(() => socket.close())
    const frames: unknown[] = []
    socket.on('f', (frame: unknown) => frames.push(frame))
    socket.emit('f', { t: 'req', id: 1, op: 'call', args: { cmd: 'sId', sId: 'guest' } })
    await until(() => frames.length >= 1)
    expect(frames).toEqual([{ t: 'res', id: 1, ok: false, error: expect.objectContaining({ errorCode: -10002, name: 'NOT_LOGIN', operation: 'call' }) }])
    const alice = await raw('alice')
    expect((await alice.inbox.cmd('clu')).list).toEqual([{ sId: 'alice', state: 1 }])
  })

  it('a logged-in user asking for an sId other than its userId is refused with FORBIDDEN_SID', async () => {
    const rtm = await client(relay, 'bob')
    cleanup.push(() => rtm.release())
    await expect(rtm.request('call', { cmd: 'sId', sId: 'alice' })).rejects.toMatchObject({ errorCode: CALL_ERRORS.FORBIDDEN_SID[0], name: 'FORBIDDEN_SID', operation: 'call' })
  })
})

describe('the SDK call client in Node (signaling without media)', () => {
  it('registers, lists, receives notify and an incoming call, and rejects it', async () => {
    const rtm = await client(relay, 'bob')
    const calls = new CallClient(rtm)
    cleanup.push(() => { calls.destroy(); rtm.release() })
    const seen: { [K in keyof CallEventMap]?: CallEventMap[K][] } = {}
    for (const name of ['list', 'incoming', 'notify', 'call', 'error'] as const) {
      calls.on(name, (event) => { (seen[name] ??= [] as never[]).push(event as never) })
    }
    expect(await calls.start()).toBe('bob')

    const alice = await raw('alice', testApp)
    await until(() => calls.clients.some((c) => c.sId === 'alice'))
    expect(calls.clients).toEqual([{ sId: 'bob', state: 'WAIT' }, { sId: 'alice', state: 'WAIT' }])
    alice.send({ cmd: 'notify', opponentId: 'bob', type: 'hello', data: [1, 2] })
    await until(() => (seen.notify?.length ?? 0) > 0)
    expect(seen.notify).toEqual([{ from: 'alice', type: 'hello', data: [1, 2] }])

    alice.send({ cmd: 'session', opponentId: 'bob' })
    const { sessionId } = await alice.inbox.cmd('ssu')
    alice.send({ cmd: 'call', sessionId, offer })
    await until(() => (seen.incoming?.length ?? 0) > 0)
    expect(seen.incoming).toEqual([{ sessionId, from: 'alice' }])
    expect(calls.activeCall).toMatchObject({ sessionId, peer: 'alice', direction: 'incoming', state: 'PENDING' })
    await calls.reject()
    expect(await alice.inbox.cmd('reject')).toEqual({ cmd: 'reject', sessionId })
    expect(calls.activeCall).toBeNull()
    expect(seen.call?.at(-1)).toMatchObject({ state: 'CLOSED', endReason: 'declined' })

    // A refused request rejects with the call code; the error event names seed 001's category too.
    await expect(calls.notify('nobody', 't', null)).rejects.toMatchObject({ errorCode: CALL_ERRORS.UNKNOWN_OPPONENT[0], name: 'UNKNOWN_OPPONENT' })
    await until(() => (seen.error?.length ?? 0) > 0)
    expect(seen.error).toEqual([{ code: CALL_ERRORS.UNKNOWN_OPPONENT[0], name: 'UNKNOWN_OPPONENT', category: "Source user doesn't exist", message: expect.any(String) }])
  })

  it('takes its userId back from an anonymous client of its app that registered it first; that client is renamed', async () => {
    const squatter = await raw('dave', testApp)
    const rtm = await client(relay, 'dave')
    const calls = new CallClient(rtm)
    cleanup.push(() => { calls.destroy(); rtm.release() })
    expect(await calls.start()).toBe('dave')
    const renamed = await squatter.inbox.cmd('sId')
    expect(renamed.sId).not.toBe('dave')
    await until(() => calls.clients.length === 2)
    expect(calls.clients).toEqual([{ sId: renamed.sId, state: 'WAIT' }, { sId: 'dave', state: 'WAIT' }])
  })

  it('after the link drops and comes back, the client registers its sId again', async () => {
    const rtm = await client(relay, 'erin')
    const calls = new CallClient(rtm)
    cleanup.push(() => { calls.destroy(); rtm.release() })
    const registrations: string[] = []
    calls.on('registered', ({ sId }) => registrations.push(sId))
    await calls.start()
    const watcher = await raw('watcher', testApp)
    dropSocketOf(relay, 'erin')
    await until(() => registrations.length === 2)
    expect(registrations).toEqual(['erin', 'erin'])
    await watcher.inbox.cmd('clu', (m) => m.list.some((entry) => entry.sId === 'erin'))
  })
})

describe('who a /ws/calls socket is: app and identity from its upgrade URL', () => {
  it('sIds live per app: two apps each have an alice, see only their own list, and cannot reach each other', async () => {
    const alice1 = await raw('alice', { appId: 'one' })
    const alice2 = await raw('alice', { appId: 'two' })
    const bob2 = await raw('bob', { appId: 'two' })
    expect((await alice2.inbox.cmd('clu', (m) => m.list.length === 2)).list).toEqual([{ sId: 'alice', state: 1 }, { sId: 'bob', state: 1 }])
    await alice1.expectError('UNKNOWN_OPPONENT', { cmd: 'session', opponentId: 'bob' })
    await alice1.expectError('UNKNOWN_OPPONENT', { cmd: 'notify', opponentId: 'bob', type: 't', data: 1 })
    expect(alice1.inbox.seen.filter((m) => m.cmd === 'clu').map((m) => m.cmd === 'clu' && m.list)).toEqual([[{ sId: 'alice', state: 1 }]])
    expect(bob2.inbox.seen.some((m) => m.cmd === 'notify')).toBe(false)
  })

  it('without appId a socket is in the page’s default app, where the page’s users are', async () => {
    const rtm = await client(relay, 'alice', {}, 'demo')
    cleanup.push(() => rtm.release())
    await rtm.request('call', { cmd: 'sId' })
    const bob = await raw('bob')
    expect((await bob.inbox.cmd('clu')).list).toEqual([{ sId: 'alice', state: 1 }, { sId: 'bob', state: 1 }])
  })

  it('in open mode an anonymous socket cannot register the userId of a user logged in to its app', async () => {
    const rtm = await client(relay, 'alice')
    cleanup.push(() => rtm.release())
    const squatter = await raw(undefined, testApp)
    await squatter.expectError('FORBIDDEN_SID', { cmd: 'sId', sId: 'alice' })
    await squatter.register('alice-fan') // any other free sId is fine
  })

  it('in open mode ?userId= names the user: its sId is that userId and no other', async () => {
    const dave = await raw(undefined, { userId: 'dave' })
    dave.send({ cmd: 'sId' })
    expect(await dave.inbox.cmd('sId')).toEqual({ cmd: 'sId', sId: 'dave' })
    await dave.expectError('FORBIDDEN_SID', { cmd: 'sId', sId: 'erin' })
  })

  it('with a token secret the upgrade needs a valid token for the app (401 otherwise), and the token’s user is the sId', async () => {
    const secured = await relayForTest({ tokenSecret: secret })
    cleanup.push(() => void secured.close())
    expect(await upgradeStatus(secured, {})).toBe(401)
    expect(await upgradeStatus(secured, { userId: 'alice' })).toBe(401)
    expect(await upgradeStatus(secured, { token: 'not-a-jwt' })).toBe(401)
    expect(await upgradeStatus(secured, { token: await tokenFor('alice'), userId: 'bob' })).toBe(401)
    expect(await upgradeStatus(secured, { token: await tokenFor('alice', { appId: 'other' }), appId: 'demo' })).toBe(401)

    const alice = await raw(undefined, { token: await tokenFor('alice') }, secured)
    await alice.expectError('FORBIDDEN_SID', { cmd: 'sId', sId: 'bob' })
    alice.send({ cmd: 'sId' })
    expect(await alice.inbox.cmd('sId')).toEqual({ cmd: 'sId', sId: 'alice' })
    // A page user of the same app reaches the socket by its userId.
    const bob = new RTM('demo', 'bob', { url: secured.url })
    cleanup.push(() => bob.release())
    await bob.login({ token: await tokenFor('bob') })
    await bob.request('call', { cmd: 'sId' })
    await bob.request('call', { cmd: 'notify', opponentId: 'alice', type: 'hi', data: null })
    expect(await alice.inbox.cmd('notify')).toEqual({ cmd: 'notify', type: 'hi', data: null, sId: 'bob' })
  })
  it('with a token secret a socket is closed when its token expires', async () => {
    const secured = await relayForTest({ tokenSecret: secret })
    cleanup.push(() => void secured.close())
    const token = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('alice')
      .setExpirationTime(Math.floor(Date.now() / 1000) + 3).sign(new TextEncoder().encode(secret))
    const alice = await raw('alice', { token }, secured)
    const closed = await new Promise<{ code: number; reason: string }>((resolve) => alice.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })))
    expect(closed).toEqual({ code: 1008, reason: 'the token expired' })
  })
})

describe('limits on /ws/calls', () => {
  it(`coalesces clu: 400 renames at once reach each of 20 watchers as a few lists (one per ${CLU_INTERVAL_MS} ms), the last one current`, async () => {
    const watchers = await Promise.all(Array.from({ length: 20 }, (_, i) => raw(`w${i}`)))
    // Four renamers of 100 renames each: all within the frame rate's burst.
    const renamers = await Promise.all(Array.from({ length: 4 }, (_, r) => raw(`r${r}-0`)))
    const current = (m: CallServerMessage, round: number) => m.cmd === 'clu' && renamers.every((_, r) => m.list.some((entry) => entry.sId === `r${r}-${round}`))
    for (const watcher of watchers) await watcher.inbox.next((m) => current(m, 0))
    const counts = watchers.map((watcher) => watcher.inbox.seen.filter((m) => m.cmd === 'clu').length)
    const started = Date.now()
    for (let i = 1; i <= 100; i++) renamers.forEach((renamer, r) => renamer.send({ cmd: 'sId', sId: `r${r}-${i}` }))
    for (const watcher of watchers) await watcher.inbox.next((m) => current(m, 100))
    const elapsed = Date.now() - started
    const lists = watchers.map((watcher, i) => watcher.inbox.seen.filter((m) => m.cmd === 'clu').length - counts[i])
    for (const count of lists) expect(count).toBeLessThanOrEqual(Math.ceil(elapsed / CLU_INTERVAL_MS) + 1)
    expect(Math.max(...lists)).toBeLessThan(10) // one list per rename would be 400
    expect(renamers.flatMap((renamer) => renamer.inbox.seen).some((m) => m.cmd === 'error')).toBe(false)
  })

  it(`answers frames beyond ${CALL_FRAME_RATE.burst} at once with RATE_LIMITED and handles the rest`, async () => {
    const alice = await raw('alice')
    for (let i = 0; i < CALL_FRAME_RATE.burst + 50; i++) alice.send({ cmd: 'sId' })
    expect(await alice.inbox.cmd('error')).toMatchObject({ code: CALL_ERRORS.RATE_LIMITED[0] })
    await until(() => alice.inbox.seen.length >= CALL_FRAME_RATE.burst + 50)
    const answered = alice.inbox.seen.filter((m) => m.cmd === 'sId').length
    expect(answered).toBeGreaterThanOrEqual(CALL_FRAME_RATE.burst)
    expect(answered).toBeLessThan(CALL_FRAME_RATE.burst + 50)
  })

  it('refuses notify data nested too deep and frames nested thousands deep with MALFORMED_FRAME; the relay keeps serving', async () => {
    const alice = await raw('alice')
    const bob = await raw('bob')
    alice.ws.send(`{"cmd":"notify","opponentId":"bob","type":"t","data":${nestedJson(MAX_OPAQUE_DEPTH + 1)}}`)
    expect(await alice.inbox.cmd('error')).toMatchObject({ code: CALL_ERRORS.MALFORMED_FRAME[0], message: expect.stringContaining(`nested deeper than ${MAX_OPAQUE_DEPTH}`) })
    alice.ws.send(`{"cmd":"notify","opponentId":"bob","type":"t","data":${nestedJson(20_000)}}`)
    expect(await alice.inbox.cmd('error')).toMatchObject({ code: CALL_ERRORS.MALFORMED_FRAME[0], message: expect.stringContaining(`nested deeper than ${MAX_FRAME_DEPTH}`) })
    alice.send({ cmd: 'notify', opponentId: 'bob', type: 't', data: 'fine' })
    expect(await bob.inbox.cmd('notify')).toEqual({ cmd: 'notify', type: 't', data: 'fine', sId: 'alice' })
    expect(bob.inbox.seen.filter((m) => m.cmd === 'notify')).toHaveLength(1)
  })

  // Spread: HAProxy's buffers sit between the gateway and the stalled reader, and 38 MB through Redis outlast the wait; the cap is the gateway's own, per socket, as here.
  it.skipIf(spread)(`closes a socket that stops reading once ${MAX_OUTBOUND_BYTES / 2 ** 20} MiB wait for it, and says why in the log`, async () => {
    const lines: string[] = []
    const logs = new Writable({ write(chunk: Buffer, _encoding, done) { lines.push(chunk.toString()); done() } })
    const logged = await relayForTest({ logger: pino({ level: 'info' }, logs) })
    cleanup.push(() => void logged.close())
    const victim = await raw('victim', {}, logged)
    victim.ws.pause() // reads nothing from now on, as a stalled client
    const watcher = await raw('watcher', {}, logged)
    const senders = await Promise.all(Array.from({ length: 12 }, (_, i) => raw(`sender-${i}`, {}, logged)))
    const data = 'x'.repeat(16_000)
    for (const sender of senders) {
      for (let i = 0; i < CALL_FRAME_RATE.burst; i++) sender.send({ cmd: 'notify', opponentId: 'victim', type: 'flood', data })
    }
    // 12 × 200 × 16 KB = 38 MB: kernel buffers take some, the relay holds at most the cap, then lets go.
    await watcher.inbox.cmd('clu', (m) => m.list.some((entry) => entry.sId === 'sender-11') && !m.list.some((entry) => entry.sId === 'victim'))
    expect(lines.some((line) => line.includes('outbound queue is full') && line.includes('"limit":4194304'))).toBe(true)
  })

  it(`closes a socket that registers no sId by the login deadline (${LOGIN_DEADLINE_MS / 1000} s; 300 ms here); a registered one stays`, async () => {
    const quick = await relayForTest({ loginDeadlineMs: 300 })
    cleanup.push(() => void quick.close())
    const idle = await raw(undefined, {}, quick)
    const registered = await raw('busy', {}, quick)
    const closed = await new Promise<{ code: number; reason: string }>((resolve) => idle.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })))
    expect(closed).toEqual({ code: 1008, reason: expect.stringContaining('no sId') })
    expect(registered.ws.readyState).toBe(WebSocket.OPEN)
  })
})
