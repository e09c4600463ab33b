import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import type { Relay, RelayOptions } from '../src/relay/server'
import { MAX_OUTBOUND_BYTES } from '../src/relay/outbound'
import { RawEasyrtc } from './easyrtc-harness'
import { Capture, client, processesOf, relayForTest, spread, until } from './helpers'
import { expectCode } from './relay-control'

/**
 * Issue 11's audit findings against a real relay: each test is one finding, written so
 * that the relay as it stood before the fix fails it (a crash, an unbounded buffer, a
 * request that was never refused).
 */

type Frame = Record<string, any>

/**
 * A native-protocol client speaking engine.io/socket.io by hand over a WebSocket, so that
 * it can send what socket.io-client itself would refuse to encode (JSON 20,000 deep).
 */
class RawNative {
  readonly ws: WebSocket
  readonly frames: Frame[] = []
  private nextId = 1
  private opened = false

  constructor(url: string) {
    this.ws = new WebSocket(`${url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`)
    this.ws.on('error', () => {}) // refusals are asserted through `connected`/`refused`
    this.ws.on('message', (data) => {
      const text = data.toString()
      if (text.startsWith('0')) this.ws.send('40')
      else if (text === '2') this.ws.send('3')
      else if (text.startsWith('40')) this.opened = true
      else if (text.startsWith('42')) this.frames.push((JSON.parse(text.slice(2)) as [string, Frame])[1])
    })
  }

  get connected(): boolean {
    return this.opened && this.ws.readyState === WebSocket.OPEN
  }

  /** Sends `{t:'req', id, op, args}` with `args` as JSON text written by the caller. */
  sendText(op: string, argsJson: string): number {
    const id = this.nextId++
    const frame = `42["f",{"t":"req","id":${id},"op":${JSON.stringify(op)},"args":${argsJson}}]`
    if (this.connected) this.ws.send(frame)
    else void until(() => this.connected).then(() => this.ws.send(frame))
    return id
  }

  send(op: string, args: unknown): number {
    return this.sendText(op, JSON.stringify(args))
  }

  async reply(id: number): Promise<Frame> {
    await until(() => this.frames.some((f) => f.t === 'res' && f.id === id))
    return this.frames.find((f) => f.t === 'res' && f.id === id)!
  }

  async request(op: string, args: unknown): Promise<Frame> {
    return this.reply(this.send(op, args))
  }

  close(): void {
    this.ws.terminate()
  }
}

/** A call notify whose data is JSON nested `depth` levels deep, as text. */
function deepNotify(depth: number): string {
  return `{"cmd":"notify","opponentId":"alice","type":"x","data":${'['.repeat(depth)}"x"${']'.repeat(depth)}}`
}

describe('relay hardening (issue 11)', () => {
  let relay: Relay | undefined
  const closers: (() => void)[] = []
  const start = async (options: RelayOptions = {}) => (relay = await relayForTest(options))
  const raw = (url: string) => {
    const conn = new RawNative(url)
    closers.push(() => conn.close())
    return conn
  }
  afterEach(async () => {
    for (const close of closers.splice(0)) close()
    await relay?.close()
    relay = undefined
  })

  it('a frame nested 20,000 deep, sent right behind a login with a garbage token, is refused and the relay keeps serving', async () => {
    const { url } = await start({ tokenSecret: 'secret' })
    const attacker = raw(url)
    const login = attacker.send('login', { appId: 'demo', userId: 'mallory', token: 'garbage' })
    const deep = attacker.sendText('call', deepNotify(20_000))
    expect((await attacker.reply(login)).error.errorCode).toBe(-10005)
    expect((await attacker.reply(deep)).error).toMatchObject({ errorCode: -10014, reason: expect.stringMatching(/deeper than/) })
    const health = await fetch(`${url}/healthz`)
    expect(health.status).toBe(200)
  })

  it('a logged-in user cannot crash the relay with a deep notify after a durable write, and the callee still gets later calls frames', async () => {
    const { url } = await start()
    const victim = raw(url)
    expect((await victim.request('login', { appId: 'demo', userId: 'alice' })).ok).toBe(true)
    expect((await victim.request('call', { cmd: 'sId' })).ok).toBe(true)
    const attacker = raw(url)
    expect((await attacker.request('login', { appId: 'demo', userId: 'mallory' })).ok).toBe(true)
    expect((await attacker.request('call', { cmd: 'sId' })).ok).toBe(true)
    const lock = attacker.send('setLock', { channelName: 'room', channelType: 1, lockName: 'l', ttl: 10 })
    const deep = attacker.sendText('call', deepNotify(20_000))
    expect((await attacker.reply(lock)).ok).toBe(true)
    expect((await attacker.reply(deep)).ok).toBe(false)
    expect((await attacker.request('call', { cmd: 'notify', opponentId: 'alice', type: 'hello', data: { fine: true } })).ok).toBe(true)
    await until(() => victim.frames.some((f) => f.t === 'evt' && f.event.kind === 'call' && f.event.msg.type === 'hello'))
  })

  it('a 32 KB [[[…]]] chat message to a room with an EasyRTC member neither crashes the relay nor stops delivery to the others', async () => {
    const { url } = await start()
    const easy = new RawEasyrtc(url)
    closers.push(() => easy.close())
    expect((await easy.auth({ applicationName: 'demo', roomJoin: { lobby: { roomName: 'lobby' } } })).msgType).toBe('token')
    const alice = await client(url, 'alice', {}, 'demo')
    const bob = await client(url, 'bob', {}, 'demo')
    closers.push(() => alice.release(), () => bob.release())
    await alice.subscribe('lobby')
    await bob.subscribe('lobby')
    const atBob = new Capture(bob, 'message')
    const deep = '['.repeat(16_000) + ']'.repeat(16_000)
    await alice.publish('lobby', deep)
    await alice.publish('lobby', 'after')
    await atBob.next((e) => e.message === 'after')
    expect(atBob.seen.map((e) => e.message)).toEqual([deep, 'after'])
    // The EasyRTC member gets it as text (too deep to hand over as JSON), then the next one.
    await until(() => easy.msgs.some((m) => m.msgData === 'after'))
    expect(easy.msgs.find((m) => typeof m.msgData === 'string' && m.msgData.startsWith('[[['))).toBeDefined()
  })

  it('a subscriber that stops reading is closed once its queue passes the cap, and the relay does not hold its backlog', async () => {
    const unlimited = { perSecond: 100_000, burst: 100_000 }
    const { url } = await start({ requestRate: unlimited, engine: { publishRate: unlimited } })
    const reader = new WebSocket(`${url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`)
    closers.push(() => reader.terminate())
    const texts: string[] = []
    reader.on('message', (data) => texts.push(data.toString()))
    await until(() => texts.some((t) => t.startsWith('0')))
    reader.send('40')
    await until(() => texts.some((t) => t.startsWith('40')))
    reader.send(`42${JSON.stringify(['f', { t: 'req', id: 1, op: 'login', args: { appId: 'demo', userId: 'sloth' } }])}`)
    reader.send(`42${JSON.stringify(['f', { t: 'req', id: 2, op: 'subscribe', args: { channelName: 'firehose' } }])}`)
    await until(() => texts.some((t) => t.includes('"id":2')))
    // The reader is the only connection so far, on whichever process holds it (one of several in the spread run).
    const holder = processesOf(relay!).find((each) => each.io.sockets.sockets.size > 0)!
    const readerConn = [...holder.io.sockets.sockets.keys()][0]
    ;(reader as unknown as { _socket: { pause(): void } })._socket.pause()

    const publisher = await client(url, 'hose', {}, 'demo')
    closers.push(() => publisher.release())
    const chunk = 'x'.repeat(32 * 1024 - 1)
    // Far more than the cap plus every kernel buffer on the way; bounded.
    const budget = Math.ceil((8 * MAX_OUTBOUND_BYTES + 16 * 1024 * 1024) / chunk.length)
    for (let sent = 0; sent < budget && holder.io.sockets.sockets.has(readerConn); sent++) await publisher.publish('firehose', chunk)
    await until(() => !holder.io.sockets.sockets.has(readerConn))
    expect(holder.host.userOf(readerConn)).toBeNull()
  })

  it('a client that reads is not closed by a burst of large replies queued faster than it can read', async () => {
    const { url } = await start()
    // 100 members with 8 KB of presence state each: one page of getOnlineUsers is ~800 KB.
    const members = Array.from({ length: 100 }, () => raw(url))
    await Promise.all(members.map(async (member, i) => {
      await member.request('login', { appId: 'demo', userId: `member${i}` })
      await member.request('subscribe', { channelName: 'big', withPresence: false })
      await member.request('setState', { channelName: 'big', channelType: 1, states: { bio: 'b'.repeat(8000) } })
    }))
    const reader = await client(url, 'reader', {}, 'demo')
    closers.push(() => reader.release())
    const links = new Capture(reader, 'linkState')
    // Eight pages asked at once: ~6.4 MB queued within one turn, more than MAX_OUTBOUND_BYTES.
    const pages = await Promise.all(Array.from({ length: 8 }, () => reader.presence.getOnlineUsers('big', 'MESSAGE', { includedState: true })))
    expect(pages.every((page) => page.occupants.length === 100)).toBe(true)
    expect(links.seen.filter((e) => e.currentState !== 'CONNECTED')).toEqual([])
  })

  it('one connection is answered -10021 past 200 quick requests, and served again once it slows down', async () => {
    const { url } = await start()
    const conn = raw(url)
    expect((await conn.request('login', { appId: 'demo', userId: 'eager' })).ok).toBe(true)
    const ids = Array.from({ length: 400 }, () => conn.send('getChannelList', {}))
    const replies = await Promise.all(ids.map((id) => conn.reply(id)))
    const refused = replies.filter((r) => !r.ok)
    expect(refused.length).toBeGreaterThan(100)
    expect(refused[0].error).toMatchObject({ errorCode: -10021, reason: expect.stringMatching(/requests per second/) })
    // Refused requests take no token: asked one at a time, one is served as soon as the bucket refills.
    let served = false
    for (let i = 0; i < 2_000 && !served; i++) served = (await conn.request('getChannelList', {})).ok
    expect(served).toBe(true)
  })

  it('publishing past 60 messages a second (bursts of 120) is refused with -10021, not fanned out', async () => {
    const { url } = await start()
    const alice = await client(url, 'alice', {}, 'demo')
    closers.push(() => alice.release())
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => alice.publish('lobby', `m${i}`).then(() => 0, (e: { errorCode: number }) => e.errorCode)))
    expect(results.filter((code) => code === 0).length).toBeLessThan(150)
    expect(results).toContain(-10021)
  })

  it('subscribing again and again to a channel (each resends the member list) is refused with -11020', async () => {
    const { url } = await start()
    const alice = await client(url, 'alice', {}, 'demo')
    closers.push(() => alice.release())
    await alice.subscribe('lobby', { withPresence: true })
    const results = await Promise.all(Array.from({ length: 20 }, () => alice.subscribe('lobby', { withPresence: true }).then(() => 0, (e: { errorCode: number }) => e.errorCode)))
    expect(results).toContain(-11020)
    expect(results.filter((code) => code === 0).length).toBeLessThanOrEqual(6)
  })

  // Spread: the per-address limit is per process (three relays admit three times as many), and it counts one process's connections.
  it.skipIf(spread)('one address holds at most the configured number of connections, on socket.io and on raw WebSocket endpoints', async () => {
    const { url } = await start({ maxConnectionsPerAddress: 3 })
    const sockets = [raw(url), raw(url), raw(url)]
    await until(() => sockets.every((s) => s.connected))
    const fourth = new WebSocket(`${url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`)
    fourth.on('error', () => {})
    closers.push(() => fourth.terminate())
    // engine.io answers a refused WebSocket handshake 400 (403 on polling).
    const refusal = await new Promise<number>((resolve) => fourth.on('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0)))
    expect(refusal).toBe(400)
    const ws = new WebSocket(`${url.replace('http', 'ws')}/ws/calls`)
    ws.on('error', () => {})
    closers.push(() => ws.terminate())
    const status = await new Promise<number>((resolve) => ws.on('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0)))
    expect(status).toBe(429)
    sockets[0].close()
    await until(() => relay!.io.engine.clientsCount === 2)
    const again = raw(url)
    await until(() => again.connected)
  })

  it('a connection that never logs in is closed at the login deadline; one that logs in stays', async () => {
    const { url } = await start({ loginDeadlineMs: 300 })
    const idle = raw(url)
    const busy = raw(url)
    expect((await busy.request('login', { appId: 'demo', userId: 'alice' })).ok).toBe(true)
    const easy = new RawEasyrtc(url)
    closers.push(() => easy.close())
    await until(() => idle.connected && easy.socket.connected)
    await until(() => idle.ws.readyState === WebSocket.CLOSED && !easy.socket.connected)
    expect((await busy.request('getChannelList', {})).ok).toBe(true)
  })
})

describe('engine limits that keep the store bounded (issue 11)', () => {
  it('an app holds at most 1,000 lock definitions (-14001)', async () => {
    const relay = await relayForTest({ requestRate: { perSecond: 100_000, burst: 100_000 } })
    const alice = await client(relay, 'alice', {}, 'demo')
    try {
      for (let i = 0; i < 1000; i++) await alice.lock.setLock(`ch${Math.floor(i / 50)}`, 'MESSAGE', `lock${i}`, { ttl: 10 })
      await expectCode(alice.lock.setLock('ch-last', 'MESSAGE', 'one-more', { ttl: 10 }), -14001, /1000 locks/)
      await alice.lock.removeLock('ch0', 'MESSAGE', 'lock0')
      await alice.lock.setLock('ch-last', 'MESSAGE', 'one-more', { ttl: 10 })
    } finally {
      alice.release()
      await relay.close()
    }
  })
})
