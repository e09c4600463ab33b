import { JsonWs } from './json-ws'
import { NativeClient, type NativeStats, type Reply } from './raw-client'
import type { SoakStats } from './soak-stats'
import { sleep } from './relay-child'

/**
 * The soak's mixed workload against one relay, from one process: chat in a few channels,
 * presence churn, metadata writes, locks, calls on /ws/calls and through the native `call`
 * op, slow readers and reconnect storms. Every loop ends at `endAt`.
 */

export interface Scale {
  chatChannels: number
  membersPerChannel: number
  /** Chat publishes per second over all chat members. */
  chatPerSecond: number
  churners: number
  metadataClients: number
  /** Per metadata client; the seed allows 10 reads and writes per user per second. */
  metadataPerSecond: number
  lockClients: number
  wsCallPairs: number
  nativeCallPairs: number
  slowReaders: number
  /** A paused reader is replaced (and checked) this often. */
  slowReaderLifeS: number
  /** The bulk channel the slow readers subscribe to: message size and rate. */
  bulkBytes: number
  bulkPerSecond: number
  stormSize: number
  stormEveryS: number
}

export const DEFAULT_SCALE: Scale = {
  chatChannels: 4, membersPerChannel: 30, chatPerSecond: 100,
  churners: 20, metadataClients: 10, metadataPerSecond: 4, lockClients: 10,
  wsCallPairs: 8, nativeCallPairs: 4,
  slowReaders: 3, slowReaderLifeS: 120, bulkBytes: 16 * 1024, bulkPerSecond: 50,
  stormSize: 40, stormEveryS: 60,
}

export const APP = 'soak'
const LOCK_CHANNEL = 'locks'
const LOCK_NAMES = 8
const METADATA_KEYS = 10
const METADATA_CHANNELS = 5
/** How long a call step may wait for the other side before it counts as an error. */
const CALL_STEP_TIMEOUT_MS = 5000
const FAKE_OFFER = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=soak offer\r\nt=0 0\r\n'
const FAKE_ANSWER = 'v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\ns=soak answer\r\nt=0 0\r\n'
const FAKE_CANDIDATE = { candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host', sdpMid: '0', sdpMLineIndex: 0 }

type Chat = { client: NativeClient; channel: string; down: boolean; counter: MemberStats }

/** One chat member's received messages, passed on to the shared stats: a member that stops receiving shows. */
class MemberStats implements NativeStats {
  messages = 0
  constructor(private readonly shared: SoakStats) {}
  onReply(op: string, reply: Reply): void { this.shared.onReply(op, reply) }
  onEvent(kind: string): void {
    if (kind === 'message') this.messages++
    this.shared.onEvent(kind)
  }
  onDisconnect(): void { this.shared.onDisconnect() }
}

export class Workload {
  readonly #chat: Chat[] = []
  readonly #others: NativeClient[] = []
  readonly #sockets: JsonWs[] = []
  readonly #slow = new Set<{ client: NativeClient; since: number }>()
  readonly #loops: Promise<void>[] = []
  #heartbeats: NodeJS.Timeout | null = null
  #stopped = false
  #seq = 0
  #chatAcked = 0
  /** Loops that stopped early, with why. */
  readonly failures: string[] = []

  constructor(readonly url: string, readonly scale: Scale, readonly stats: SoakStats, public endAt: number) {}

  get running(): boolean {
    return !this.#stopped && performance.now() < this.endAt
  }

  async #native(userId: string, subscribe: object[] = [], stats: NativeStats = this.stats): Promise<NativeClient> {
    const client = await NativeClient.connect(this.url, stats)
    const login = await client.login(APP, userId)
    if (!login.ok) throw new Error(`login ${userId}: ${JSON.stringify(login.error)}`)
    for (const args of subscribe) {
      const reply = await client.request('subscribe', args)
      if (!reply.ok) throw new Error(`subscribe ${userId}: ${JSON.stringify(reply.error)}`)
    }
    return client
  }

  /** Opens the chat members (16 at a time) and starts everyone's heartbeats; the other clients open in their loops. */
  async setup(): Promise<void> {
    const { scale } = this
    const jobs: (() => Promise<void>)[] = []
    for (let c = 0; c < scale.chatChannels; c++) {
      for (let m = 0; m < scale.membersPerChannel; m++) {
        const channel = `chat${c}`
        jobs.push(async () => {
          const counter = new MemberStats(this.stats)
          const client = await this.#native(`chat${c}-${m}`, [{ channelName: channel, withMessage: true, withPresence: true }], counter)
          this.#chat.push({ client, channel, down: false, counter })
        })
      }
    }
    await inBatches(jobs, 16)
    const heartbeatAll = () => {
      // Every session says it is alive every 5 s (the default heartbeatInterval), spread over the 5 s.
      const tick = Math.floor(performance.now() / 1000)
      const all = [...this.#chat.map((chat) => chat.client), ...this.#others, ...[...this.#slow].map((slow) => slow.client)]
      all.forEach((client, i) => {
        if ((i + tick) % 5 !== 0 || client.closed) return
        if ([...this.#slow].some((slow) => slow.client === client)) client.fire('heartbeat', {})
        else void client.request('heartbeat', {})
      })
    }
    this.#heartbeats = setInterval(heartbeatAll, 1000)
  }

  /** Starts every loop; resolves when all have ended (at `endAt`). */
  async run(): Promise<void> {
    const { scale } = this
    const start = (name: string, loop: () => Promise<void>) => this.#loops.push(loop().catch((error: unknown) => {
      // A loop that could not set itself up (or threw) stops; the run goes on and reports it.
      this.stats.current.error(`${name} stopped`)
      this.failures.push(`${name}: ${String(error).slice(0, 200)}`)
    }))
    start('chat', () => this.#chatLoop())
    for (let i = 0; i < scale.churners; i++) start('churn', () => this.#churnLoop(i))
    for (let i = 0; i < scale.metadataClients; i++) start('metadata', () => this.#metadataLoop(i))
    for (let i = 0; i < scale.lockClients; i++) start('locks', () => this.#lockLoop(i))
    for (let i = 0; i < scale.wsCallPairs; i++) start('ws-calls', () => this.#wsCallLoop(i))
    for (let i = 0; i < scale.nativeCallPairs; i++) start('native-calls', () => this.#nativeCallLoop(i))
    start('bulk', () => this.#bulkLoop())
    start('storms', () => this.#stormLoop())
    await Promise.all(this.#loops)
  }

  async #chatLoop(): Promise<void> {
    const everyMs = 1000 / this.scale.chatPerSecond
    let next = performance.now()
    while (this.running) {
      const up = this.#chat.filter((chat) => !chat.down)
      const chat = up[Math.floor(Math.random() * up.length)]
      if (chat) {
        void chat.client.request('publish', { channelName: chat.channel, channelType: 1, message: `chat ${++this.#seq} ${'.'.repeat(80)}` })
          .then((reply) => { if (reply.ok) this.#chatAcked++ })
      }
      next = nextSlot(next, everyMs)
      await sleep(Math.max(0, next - performance.now()))
    }
  }

  /** Presence churn: log in, join a chat channel with presence, change state, leave, log out. */
  async #churnLoop(slot: number): Promise<void> {
    await sleep(Math.random() * 2000)
    while (this.running) {
      let client: NativeClient | null = null
      try {
        client = await NativeClient.connect(this.url, this.stats)
        if (!(await client.login(APP, `churn${slot}`)).ok) continue
        const channelName = `chat${Math.floor(Math.random() * this.scale.chatChannels)}`
        await client.request('subscribe', { channelName, withMessage: false, withPresence: true })
        for (let k = 0; k < 3 && this.running; k++) {
          await sleep(500)
          await client.request('setState', { channelName, channelType: 1, states: { status: `busy${k}`, mood: 'soak' } })
        }
        await client.request('unsubscribe', { channelName })
        await client.request('logout', {})
      } catch (error) {
        this.stats.current.error(`churn: ${String(error).slice(0, 40)}`)
      } finally {
        client?.close()
      }
      await sleep(1000 + Math.random() * 1000)
    }
  }

  async #metadataLoop(i: number): Promise<void> {
    const client = await this.#native(`meta${i}`)
    this.#others.push(client)
    const everyMs = 1000 / this.scale.metadataPerSecond
    const value = () => `v${Math.random().toString(36).slice(2)}${'m'.repeat(180)}`
    while (this.running) {
      const pick = Math.random()
      const key = `k${Math.floor(Math.random() * METADATA_KEYS)}`
      const channelName = `meta${Math.floor(Math.random() * METADATA_CHANNELS)}`
      if (pick < 0.4) await client.request('setUserMetadata', { items: [{ key, value: value() }], addTimeStamp: true })
      else if (pick < 0.8) await client.request('setChannelMetadata', { channelName, channelType: 1, items: [{ key, value: value() }], addUserId: true })
      else if (pick < 0.9) await client.request('getChannelMetadata', { channelName, channelType: 1 })
      else await client.request('getUserMetadata', {})
      await sleep(everyMs)
    }
  }

  async #lockLoop(i: number): Promise<void> {
    const client = await this.#native(`lock${i}`, [{ channelName: LOCK_CHANNEL, withMessage: false, withLock: true }])
    this.#others.push(client)
    const target = (lockName: string) => ({ channelName: LOCK_CHANNEL, channelType: 1, lockName })
    let held: string | null = null
    while (this.running) {
      if (held) {
        await sleep(200 + Math.random() * 300)
        if (Math.random() < 0.1) await client.request('removeLock', target(held))
        else await client.request('releaseLock', target(held))
        held = null
      } else {
        const lockName = `L${Math.floor(Math.random() * LOCK_NAMES)}`
        await client.request('setLock', { ...target(lockName), ttl: 10 })
        const acquired = await client.request('acquireLock', { ...target(lockName), retry: false })
        if (acquired.ok) held = lockName
      }
      await sleep(300)
    }
  }

  /** Seed 002 on /ws/calls: register, session, call, accept, ICE both ways, stop, again. */
  async #wsCallLoop(i: number): Promise<void> {
    const wsUrl = `${this.url.replace(/^http/, 'ws')}/ws/calls`
    const caller = await JsonWs.open(wsUrl, { keep: false })
    const callee = await JsonWs.open(wsUrl, { keep: false })
    this.#sockets.push(caller, callee)
    for (const socket of [caller, callee]) {
      socket.onMessage = (message) => {
        if (message.cmd === 'error') this.stats.current.error(`call:${String(message.code)}`)
        else this.stats.current.events++
      }
    }
    const a = `wsA${i}`
    const b = `wsB${i}`
    const registered = Promise.all([caller.waitFor((m) => m.cmd === 'sId'), callee.waitFor((m) => m.cmd === 'sId')])
    caller.send({ cmd: 'sId', sId: a })
    callee.send({ cmd: 'sId', sId: b })
    await registered
    await this.#callCycles(
      (message) => caller.send(message),
      (message) => callee.send(message),
      (match) => caller.waitFor(match, CALL_STEP_TIMEOUT_MS),
      (match) => callee.waitFor(match, CALL_STEP_TIMEOUT_MS),
      b,
    )
  }

  /** The same calls through the native protocol's `call` op, between two logged-in users. */
  async #nativeCallLoop(i: number): Promise<void> {
    const caller = await this.#native(`callA${i}`)
    const callee = await this.#native(`callB${i}`)
    this.#others.push(caller, callee)
    const send = (client: NativeClient) => (message: object) => { void client.request('call', message) }
    const wait = (client: NativeClient) => async (match: (message: Record<string, unknown>) => boolean) => {
      const event = await client.nextEvent((e) => e.kind === 'call' && match(e.msg as Record<string, unknown>), CALL_STEP_TIMEOUT_MS)
      return (event?.msg as Record<string, unknown> | undefined) ?? null
    }
    for (const client of [caller, callee]) {
      client.onEvt = (event) => {
        const msg = event.msg as { cmd?: string; code?: number } | undefined
        if (event.kind === 'call' && msg?.cmd === 'error') this.stats.current.error(`call:${String(msg.code)}`)
      }
    }
    const registered = Promise.all([wait(caller)((m) => m.cmd === 'sId'), wait(callee)((m) => m.cmd === 'sId')])
    send(caller)({ cmd: 'sId' })
    send(callee)({ cmd: 'sId' })
    const [, calleeSid] = await registered
    await this.#callCycles(send(caller), send(callee), wait(caller), wait(callee), String(calleeSid?.sId ?? `callB${i}`))
  }

  async #callCycles(
    toCaller: (message: object) => void, toCallee: (message: object) => void,
    atCaller: (match: (m: Record<string, unknown>) => boolean) => Promise<Record<string, unknown> | null>,
    atCallee: (match: (m: Record<string, unknown>) => boolean) => Promise<Record<string, unknown> | null>,
    calleeSid: string,
  ): Promise<void> {
    await sleep(Math.random() * 1000)
    while (this.running) {
      const started = performance.now()
      const created = atCaller((m) => m.cmd === 'ssu' && m.state === 1)
      toCaller({ cmd: 'session', opponentId: calleeSid })
      const ssu = await created
      if (!ssu) { this.stats.current.error('call:timeout'); await sleep(1000); continue }
      const sessionId = String(ssu.sessionId)
      const ringing = atCallee((m) => m.cmd === 'call' && m.sessionId === sessionId)
      toCaller({ cmd: 'call', sessionId, offer: FAKE_OFFER })
      if (!(await ringing)) { this.stats.current.error('call:timeout'); toCaller({ cmd: 'stop', sessionId }); await sleep(1000); continue }
      const accepted = atCaller((m) => m.cmd === 'accept' && m.sessionId === sessionId)
      toCallee({ cmd: 'accept', sessionId, answer: FAKE_ANSWER })
      if (!(await accepted)) { this.stats.current.error('call:timeout'); toCaller({ cmd: 'stop', sessionId }); await sleep(1000); continue }
      this.stats.current.callSetupMs.push(performance.now() - started)
      const candidates = [atCaller((m) => m.cmd === 'icecandidate'), atCallee((m) => m.cmd === 'icecandidate')]
      for (let k = 0; k < 3; k++) {
        toCaller({ cmd: 'icecandidate', sessionId, icecandidate: FAKE_CANDIDATE })
        toCallee({ cmd: 'icecandidate', sessionId, icecandidate: FAKE_CANDIDATE })
      }
      await Promise.all(candidates)
      await sleep(500)
      const stopped = atCallee((m) => m.cmd === 'stop' && m.sessionId === sessionId)
      toCaller({ cmd: 'stop', sessionId })
      if (!(await stopped)) this.stats.current.error('call:timeout')
      else this.stats.current.calls++
      await sleep(500)
    }
  }

  /**
   * The bulk channel: one publisher of large messages, one normal reader, and slow readers
   * that stop reading their socket (writing only heartbeats and blind pongs). The relay
   * should close them at its outbound cap; each is replaced after `slowReaderLifeS`.
   */
  async #bulkLoop(): Promise<void> {
    const { scale } = this
    const subscribe = { channelName: 'bulk', withMessage: true, withPresence: false }
    const publisher = await this.#native('bulk-pub')
    const reader = await this.#native('bulk-reader', [subscribe])
    this.#others.push(publisher, reader)
    let generation = 0
    const addSlow = async () => {
      const userId = `slow${generation}-${this.#slow.size}`
      const client = await NativeClient.connect(this.url, this.stats)
      const ok = (await client.login(APP, userId)).ok && (await client.request('subscribe', subscribe)).ok
      if (!ok) return client.close()
      const entry = { client, since: performance.now() }
      // The relay closing this socket is the point (its outbound cap), not an error.
      client.sio.onClose = () => {
        if (!this.#slow.has(entry)) return
        this.stats.current.slowClosed++
        this.#slow.delete(entry)
      }
      client.sio.pause()
      this.#slow.add(entry)
    }
    const retire = () => {
      for (const entry of [...this.#slow]) {
        if (performance.now() - entry.since < scale.slowReaderLifeS * 1000) continue
        this.#slow.delete(entry)
        this.stats.current.slowLingering++
        entry.client.close()
      }
    }
    const message = 'B'.repeat(scale.bulkBytes)
    const everyMs = 1000 / scale.bulkPerSecond
    let next = performance.now()
    let lastTopUp = 0
    while (this.running) {
      if (performance.now() - lastTopUp > 1000) {
        lastTopUp = performance.now()
        retire()
        while (this.#slow.size < scale.slowReaders && this.running) {
          generation++
          await addSlow()
        }
      }
      void publisher.request('publish', { channelName: 'bulk', channelType: 1, message })
      next = nextSlot(next, everyMs)
      await sleep(Math.max(0, next - performance.now()))
    }
  }

  /** Reconnect storms: a batch of chat members drop at once and come back with their resume key. */
  async #stormLoop(): Promise<void> {
    const { scale } = this
    const firstAt = Math.min(scale.stormEveryS * 1000, (this.endAt - performance.now()) / 2)
    await sleep(firstAt)
    while (this.running) {
      const batch = [...this.#chat].filter((chat) => !chat.down).sort(() => Math.random() - 0.5).slice(0, scale.stormSize)
      const started = performance.now()
      for (const chat of batch) {
        chat.down = true
        chat.client.close()
      }
      const results = await Promise.all(batch.map(async (chat) => {
        try {
          const client = await NativeClient.connect(this.url, chat.counter)
          client.continueIdsOf(chat.client)
          const login = await client.login(APP, chat.client.userId, { resumeKey: chat.client.resumeKey })
          if (!login.ok) { client.close(); return { ok: false, resumed: false } }
          chat.client = client
          chat.down = false
          return { ok: true, resumed: (login.result as { resumed?: boolean }).resumed === true }
        } catch (error) {
          this.stats.current.error(`storm: ${String(error).slice(0, 40)}`)
          return { ok: false, resumed: false }
        }
      }))
      this.stats.current.storms.push({
        size: batch.length, reconnected: results.filter((r) => r.ok).length,
        resumed: results.filter((r) => r.resumed).length, ms: performance.now() - started,
      })
      const wait = Math.min(scale.stormEveryS * 1000, this.endAt - performance.now())
      if (wait > 0) await sleep(wait)
    }
  }

  /**
   * Since the last call: chat messages received by members against acknowledged publishes ×
   * members per channel (a publish acknowledged but not delivered shows here), and the
   * members that received nothing although their channel had traffic all along.
   */
  chatHealth(): { deliveredPct: number; silent: string[] } {
    const received = this.#chat.reduce((sum, chat) => sum + chat.counter.messages, 0)
    const expected = this.#chatAcked * this.scale.membersPerChannel
    const silent = this.#chat.filter((chat) => chat.counter.messages === 0).map((chat) => chat.client.userId)
    for (const chat of this.#chat) chat.counter.messages = 0
    this.#chatAcked = 0
    return { deliveredPct: expected ? Math.round((1000 * received) / expected) / 10 : NaN, silent }
  }

  /** Closes every client this workload opened. */
  close(): void {
    this.#stopped = true
    if (this.#heartbeats) clearInterval(this.#heartbeats)
    for (const chat of this.#chat) chat.client.close()
    for (const client of this.#others) client.close()
    for (const socket of this.#sockets) socket.close()
    for (const slow of this.#slow) slow.client.close()
    this.#slow.clear()
  }
}

/**
 * The next send time of a paced loop. A loop that fell behind (this process stalled on a
 * busy box) skips the missed slots instead of catching up in a burst, which would be a
 * client over the relay's rate limits rather than the workload.
 */
function nextSlot(previous: number, everyMs: number): number {
  return Math.max(previous + everyMs, performance.now())
}

async function inBatches(jobs: (() => Promise<void>)[], size: number): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: size }, async () => {
    while (next < jobs.length) await jobs[next++]()
  }))
}
