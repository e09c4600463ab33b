import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { io as socketIo } from 'socket.io-client'
import WebSocket from 'ws'
import { CALL_ERRORS, type CallErrorName, type CallServerMessage } from '../src/protocol/calls'
import type { Relay } from '../src/relay/server'
import { CallClient, type CallEventMap, type RTM } from '../src/sdk'
import type { ServerEvent } from '../src/protocol/events'
import { client, relayForTest, until } from './helpers'

/** Records every message of one call client; `next` waits for the first unconsumed match. */
class Inbox {
  readonly seen: CallServerMessage[] = []
  private cursor = 0
  private waiters: (() => void)[] = []

  push(msg: CallServerMessage): void {
    this.seen.push(msg)
    for (const wake of this.waiters.splice(0)) wake()
  }

  /** The next message after the last one taken that matches; earlier non-matching ones are skipped. */
  async next(match: (msg: CallServerMessage) => boolean = () => true, timeoutMs = 5000): Promise<CallServerMessage> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const index = this.seen.findIndex((msg, i) => i >= this.cursor && match(msg))
      if (index >= 0) {
        this.cursor = index + 1
        return this.seen[index]
      }
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`no matching call message; saw ${JSON.stringify(this.seen.slice(this.cursor))}`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.waiters.push(() => { clearTimeout(timer); resolve() })
      })
    }
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

  static async open(relay: Relay): Promise<RawCallClient> {
    const ws = new WebSocket(`${relay.url.replace('http', 'ws')}/ws/calls`)
    await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject) })
    return new RawCallClient(ws)
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

const offer = { type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n' }
const answer = { type: 'answer', sdp: 'v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\n' }
const candidate = { candidate: 'candidate:1 1 udp 2122260223 10.99.0.1 50000 typ host', sdpMid: '0', sdpMLineIndex: 0 }

let relay: Relay
const cleanup: (() => void)[] = []
beforeEach(async () => { relay = await relayForTest() })
afterEach(async () => {
  for (const fn of cleanup.splice(0)) fn()
  await relay.close()
})

async function raw(sId?: string): Promise<RawCallClient> {
  const c = await RawCallClient.open(relay)
  cleanup.push(() => c.ws.close())
  if (sId) await c.register(sId)
  return c
}

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

  it('a party whose socket closes mid-call: the other gets leave and CLOSED, and the sId is free again', async () => {
    const alice = await raw('alice')
    const bob = await raw('bob')
    alice.send({ cmd: 'session', opponentId: 'bob' })
    const { sessionId } = await alice.inbox.cmd('ssu')
    alice.send({ cmd: 'call', sessionId, offer })
    await bob.inbox.cmd('call')
    bob.send({ cmd: 'accept', sessionId, answer })
    await alice.inbox.cmd('ssu', (m) => m.state === 3)
    bob.ws.terminate()
    expect(await alice.inbox.cmd('leave')).toEqual({ cmd: 'leave', sessionId })
    expect(await alice.inbox.cmd('ssu')).toEqual({ cmd: 'ssu', sessionId, state: 4 })
    expect(await alice.inbox.cmd('clu')).toEqual({ cmd: 'clu', list: [{ sId: 'alice', state: 1 }] })
    await raw('bob')
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

    const alice = await raw('alice')
    await alice.inbox.cmd('clu', (m) => m.list.some((entry) => entry.sId === 'bob'))
    alice.send({ cmd: 'session', opponentId: 'bob' })
    const { sessionId } = await alice.inbox.cmd('ssu')
    alice.send({ cmd: 'call', sessionId, offer })
    expect(await bob.cmd('call')).toEqual({ cmd: 'call', sessionId, offer, sId: 'alice' })
    await rtm.request('call', { cmd: 'accept', sessionId, answer })
    expect(await alice.inbox.cmd('accept')).toEqual({ cmd: 'accept', sessionId, answer })
    await rtm.request('call', { cmd: 'icecandidate', sessionId, icecandidate: candidate })
    expect(await alice.inbox.cmd('icecandidate')).toMatchObject({ icecandidate: candidate })

    rtm.release() // the page closes: alice is told
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

  it('a socket.io client that never logs in may still call (the sId is its identity)', async () => {
    const socket = socketIo(relay.url, { transports: ['websocket'], forceNew: true })
    cleanup.push(() => socket.close())
    const frames: unknown[] = []
    socket.on('f', (frame: unknown) => frames.push(frame))
    socket.emit('f', { t: 'req', id: 1, op: 'call', args: { cmd: 'sId', sId: 'guest' } })
    const alice = await raw('alice')
    await alice.inbox.cmd('clu', (m) => m.list.some((entry) => entry.sId === 'guest'))
    await until(() => frames.length >= 2)
    expect(frames).toContainEqual({ t: 'res', id: 1, ok: true, result: {} })
    expect(frames).toContainEqual({ t: 'evt', event: { kind: 'call', msg: { cmd: 'sId', sId: 'guest' }, timestamp: expect.any(Number) } })
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

    const alice = await raw('alice')
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

    // A refused request rejects with the call code.
    await expect(calls.notify('nobody', 't', null)).rejects.toMatchObject({ errorCode: CALL_ERRORS.UNKNOWN_OPPONENT[0], name: 'UNKNOWN_OPPONENT' })
  })

  it('asks for a chosen sId and reports SID_TAKEN', async () => {
    await raw('taken')
    const rtm = await client(relay, 'dave')
    const calls = new CallClient(rtm, { sId: 'taken' })
    cleanup.push(() => { calls.destroy(); rtm.release() })
    await expect(calls.start()).rejects.toMatchObject({ errorCode: CALL_ERRORS.SID_TAKEN[0], name: 'SID_TAKEN' })
    expect(calls.sId).toBeNull()
  })

  it('after the link drops and comes back, the client registers its sId again', async () => {
    const rtm = await client(relay, 'erin')
    const calls = new CallClient(rtm)
    cleanup.push(() => { calls.destroy(); rtm.release() })
    await calls.start()
    const watcher = await raw('watcher')
    for (const socket of relay.io.sockets.sockets.values()) if (relay.coordinator.userOf(socket.id)?.userId === 'erin') socket.disconnect(true)
    await watcher.inbox.cmd('clu', (m) => !m.list.some((entry) => entry.sId === 'erin'))
    await watcher.inbox.cmd('clu', (m) => m.list.some((entry) => entry.sId === 'erin'))
    expect(calls.sId).toBe('erin')
  })
})
