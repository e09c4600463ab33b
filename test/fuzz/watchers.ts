import WebSocket from 'ws'
import { RawEasyrtc } from '../easyrtc-harness'
import { RTM } from '../../src/sdk'
import { CallsClient } from './calls-client'
import { RoomsClient } from './rooms-client'
import { messageKey } from './native-session'
import type { RelayChild } from '../../bench/lib/relay-child'
import { tokenFor } from './tokens'
import { until } from './waiting'

/** How long a well-behaved client's message may take while the relay is under fuzz. */
const PROBE_TIMEOUT_MS = 10_000

/** Well-behaved clients of one endpoint that check, on demand, that they are still served. */
export interface Watch {
  /** One round trip between the well-behaved clients; rejects if it does not complete. */
  probe(): Promise<void>
  close(): void
}

/**
 * Native endpoint: two SDK users in the shared room (one publishes, one receives, both
 * with valid tokens), an EasyRTC member of the same room, and two /ws/calls clients
 * exchanging notifies. obs-a also records every fuzz message it receives in the room.
 */
export class NativeWatch implements Watch {
  /** Fuzz publishes (by messageKey) that obs-a received in the room. */
  readonly fuzzMessages = new Map<string, number>()
  /** obs-a's link changes: a well-behaved client should stay CONNECTED throughout. */
  readonly linkChanges: string[] = []
  private probes = 0

  private constructor(
    private readonly relay: RelayChild,
    private readonly room: string,
    readonly obsA: RTM, readonly obsB: RTM,
    readonly member: RawEasyrtc,
    readonly caller: CallsClient, readonly callee: CallsClient,
  ) {
    obsA.addEventListener('message', (event) => {
      if (event.channelType !== 'MESSAGE' || event.channelName !== room || !event.publisher.startsWith('fz-')) return
      const key = messageKey(event.message)
      if (key !== null) this.fuzzMessages.set(key, (this.fuzzMessages.get(key) ?? 0) + 1)
    })
    obsA.addEventListener('linkState', (event) => { this.linkChanges.push(`${event.currentState} (${event.reason})`) })
  }

  static async start(relay: RelayChild, appId: string, room: string): Promise<NativeWatch> {
    const sdk = async (userId: string) => {
      const rtm = new RTM(appId, userId, { url: relay.url })
      await rtm.login({ token: await tokenFor(userId) })
      await rtm.subscribe(room, { withMessage: true, withPresence: true })
      return rtm
    }
    const [obsA, obsB] = [await sdk('obs-a'), await sdk('obs-b')]
    const member = new RawEasyrtc(relay.url)
    const auth = await member.auth({ applicationName: appId, credential: { userId: 'er-obs', token: await tokenFor('er-obs') }, roomJoin: { [room]: { roomName: room } } })
    if (auth.msgType !== 'token') throw new Error(`the EasyRTC member could not authenticate: ${JSON.stringify(auth)}`)
    const calls = async (userId: string) => {
      const client = await CallsClient.open(relay.wsUrl, `?appId=${appId}&token=${await tokenFor(userId)}`)
      await client.register(userId)
      return client
    }
    return new NativeWatch(relay, room, obsA, obsB, member, await calls('obs-caller'), await calls('obs-callee'))
  }

  async probe(): Promise<void> {
    const n = ++this.probes
    const text = `sentinel-${n}`
    const received = new Promise<void>((resolve) => {
      const listener = (event: { message: unknown; publisher: string }) => {
        if (event.publisher === 'obs-b' && event.message === text) {
          this.obsA.removeEventListener('message', listener)
          resolve()
        }
      }
      this.obsA.addEventListener('message', listener)
    })
    await this.relay.orDeath(this.obsB.publish(this.room, text), PROBE_TIMEOUT_MS, `obs-b's publish ${n}`)
    await this.relay.orDeath(received, PROBE_TIMEOUT_MS, `obs-a receiving ${text}`)
    await this.relay.orDeath(until(() => this.member.msgs.some((msg) => msg.msgData === text), PROBE_TIMEOUT_MS, `the EasyRTC member receiving ${text}`), PROBE_TIMEOUT_MS + 1000, 'EasyRTC delivery')
    await this.relay.orDeath(this.obsA.storage.setUserMetadata([{ key: 'probe', value: String(n) }]), PROBE_TIMEOUT_MS, `obs-a's durable write ${n}`)
    this.caller.send({ cmd: 'notify', opponentId: 'obs-callee', type: 'probe', data: { n } })
    await this.relay.orDeath(this.callee.next((frame) => frame.cmd === 'notify' && (frame.data as { n?: unknown } | undefined)?.n === n, `notify ${n}`), PROBE_TIMEOUT_MS + 1000, 'a call notify between well-behaved clients')
  }

  /** The acknowledged fuzz publishes obs-a has not received (waits up to `timeoutMs` for them). */
  async missing(acknowledged: string[], timeoutMs = PROBE_TIMEOUT_MS): Promise<string[]> {
    const expected = new Map<string, number>()
    for (const key of acknowledged) expected.set(key, (expected.get(key) ?? 0) + 1)
    const short = () => [...expected].filter(([key, count]) => (this.fuzzMessages.get(key) ?? 0) < count).map(([key]) => key)
    await until(() => short().length === 0, timeoutMs, 'acknowledged publishes reaching obs-a').catch(() => undefined)
    return short()
  }

  close(): void {
    for (const rtm of [this.obsA, this.obsB]) rtm.release()
    this.member.close()
    this.caller.close()
    this.callee.close()
  }
}

/** /easyrtc: two members of the shared room exchanging room and direct messages. */
export class EasyrtcWatch implements Watch {
  private probes = 0

  private constructor(private readonly relay: RelayChild, private readonly room: string, readonly a: RawEasyrtc, readonly b: RawEasyrtc) {}

  static async start(relay: RelayChild, appId: string, room: string): Promise<EasyrtcWatch> {
    const member = async (userId: string) => {
      const client = new RawEasyrtc(relay.url)
      const auth = await client.auth({ applicationName: appId, credential: { userId, token: await tokenFor(userId) }, roomJoin: { [room]: { roomName: room } } })
      if (auth.msgType !== 'token') throw new Error(`${userId} could not authenticate: ${JSON.stringify(auth)}`)
      return client
    }
    return new EasyrtcWatch(relay, room, await member('er-a'), await member('er-b'))
  }

  async probe(): Promise<void> {
    const n = ++this.probes
    const toRoom = await this.relay.orDeath(this.a.emit('easyrtcMsg', { msgType: 'probe', msgData: { n }, targetRoom: this.room }), PROBE_TIMEOUT_MS, `er-a's room message ${n}`)
    if (toRoom.msgType !== 'ack') throw new Error(`er-a's room message was refused: ${JSON.stringify(toRoom)}`)
    await this.relay.orDeath(until(() => this.b.msgs.some((msg) => msg.msgType === 'probe' && msg.msgData?.n === n), PROBE_TIMEOUT_MS, `er-b receiving room message ${n}`), PROBE_TIMEOUT_MS + 1000, 'EasyRTC room delivery')
    const direct = await this.relay.orDeath(this.b.emit('easyrtcMsg', { msgType: 'probe', msgData: { n, direct: true }, targetEasyrtcid: 'er-a' }), PROBE_TIMEOUT_MS, `er-b's direct message ${n}`)
    if (direct.msgType !== 'ack') throw new Error(`er-b's direct message was refused: ${JSON.stringify(direct)}`)
    await this.relay.orDeath(until(() => this.a.msgs.some((msg) => msg.msgType === 'probe' && msg.msgData?.n === n && msg.msgData?.direct === true), PROBE_TIMEOUT_MS, `er-a receiving direct message ${n}`), PROBE_TIMEOUT_MS + 1000, 'EasyRTC direct delivery')
  }

  close(): void {
    this.a.close()
    this.b.close()
  }
}

/** /ws/calls: two registered clients exchanging notifies. */
export class CallsWatch implements Watch {
  private probes = 0

  private constructor(private readonly relay: RelayChild, readonly caller: CallsClient, readonly callee: CallsClient) {}

  static async start(relay: RelayChild): Promise<CallsWatch> {
    const client = async (sId: string) => {
      const c = await CallsClient.open(relay.wsUrl)
      await c.register(sId)
      return c
    }
    return new CallsWatch(relay, await client('obs-caller'), await client('obs-callee'))
  }

  async probe(): Promise<void> {
    const n = ++this.probes
    this.caller.send({ cmd: 'notify', opponentId: 'obs-callee', type: 'probe', data: { n } })
    await this.relay.orDeath(this.callee.next((frame) => frame.cmd === 'notify' && (frame.data as { n?: unknown } | undefined)?.n === n, `notify ${n}`), PROBE_TIMEOUT_MS + 1000, 'a notify between well-behaved call clients')
    this.callee.send({ cmd: 'notify', opponentId: 'obs-caller', type: 'probe', data: { n } })
    await this.relay.orDeath(this.caller.next((frame) => frame.cmd === 'notify' && (frame.data as { n?: unknown } | undefined)?.n === n, `notify back ${n}`), PROBE_TIMEOUT_MS + 1000, 'a notify back')
  }

  close(): void {
    this.caller.close()
    this.callee.close()
  }
}

/** How often the well-behaved room members heartbeat between probes: well inside the 30 s heartbeat timeout. */
const ROOM_HEARTBEAT_MS = 5000

/**
 * /ws/rooms: two members of one m2m room (sockets named by `?userId=`, so no fuzz socket
 * can claim their sessions) passing OFFER and ANSWER through the relay and heartbeating
 * with send_ack. obs-ra created the room and stays its admin.
 */
export class RoomsWatch implements Watch {
  private probes = 0
  private readonly beat: ReturnType<typeof setInterval>

  private constructor(private readonly relay: RelayChild, readonly rid: string, readonly a: RoomsClient, readonly b: RoomsClient) {
    this.beat = setInterval(() => {
      for (const [client, who] of [[a, 'obs-ra'], [b, 'obs-rb']] as const) client.send({ action: 'heartbeat', data: { s: 'HEARTBEAT', ch: 'm2m', rid, ss: RoomsWatch.session(who) } })
    }, ROOM_HEARTBEAT_MS)
  }

  static session(userId: string) {
    return { userId, sessionId: `${userId}-1`, category: 'stream', host: 'Server', deviceId: 'watch' }
  }

  static async start(relay: RelayChild, rid: string): Promise<RoomsWatch> {
    const member = async (userId: string, roomCreating: boolean) => {
      const client = await RoomsClient.open(relay.wsUrl, `?userId=${userId}`)
      client.send({ action: 'join', data: { s: 'JOIN', ch: 'm2m', rid, ss: RoomsWatch.session(userId), op: { roomCreating } } })
      const ack = await client.next((frame) => frame.s === 'JOIN' && frame.c !== undefined, `${userId}'s JOIN ack`)
      if (ack.c !== 200) throw new Error(`${userId} could not join ${rid}: ${JSON.stringify(ack)}`)
      return client
    }
    return new RoomsWatch(relay, rid, await member('obs-ra', true), await member('obs-rb', false))
  }

  async probe(): Promise<void> {
    const n = ++this.probes
    const sdp = `v=0\r\ns=probe-${n}\r\n`
    for (const [from, to, fromUser, toUser, s] of [[this.a, this.b, 'obs-ra', 'obs-rb', 'OFFER'], [this.b, this.a, 'obs-rb', 'obs-ra', 'ANSWER']] as const) {
      from.send({ action: s.toLowerCase(), data: { s, ch: 'm2m', rid: this.rid, ss: RoomsWatch.session(fromUser), to: { sessionId: `${toUser}-1` }, sdp } })
      await this.relay.orDeath(to.next((frame) => frame.s === s && frame.c === undefined && frame.sdp === sdp, `${toUser} receiving ${s} ${n}`), PROBE_TIMEOUT_MS + 1000, 'a room signal between well-behaved members')
    }
    const bid = `probe-${n}`
    this.a.send({ action: 'heartbeat', data: { s: 'HEARTBEAT', ch: 'm2m', rid: this.rid, ss: RoomsWatch.session('obs-ra'), bid, send_ack: true } })
    const ack = await this.relay.orDeath(this.a.next((frame) => frame.s === 'HEARTBEAT' && frame.b?.bid === bid, `heartbeat ack ${n}`), PROBE_TIMEOUT_MS + 1000, 'a heartbeat ack')
    if (ack.c !== 200) throw new Error(`obs-ra's heartbeat was refused: ${JSON.stringify(ack)}`)
    // Anything else the members got (list pushes of fuzz joins, refusals of the periodic heartbeats) is dropped, refusals reported.
    for (const client of [this.a, this.b]) {
      const refused = client.inbox.find((frame) => typeof frame.c === 'number' && frame.c !== 200)
      if (refused) throw new Error(`a well-behaved member was refused: ${JSON.stringify(refused).slice(0, 300)}`)
      client.inbox.length = 0
    }
  }

  close(): void {
    clearInterval(this.beat)
    this.a.close()
    this.b.close()
  }
}

/** /peerjs: two peers passing OFFER and ANSWER frames through the broker. */
export class PeerWatch implements Watch {
  private probes = 0

  private constructor(private readonly relay: RelayChild, readonly a: BrokerPeer, readonly b: BrokerPeer) {}

  static async start(relay: RelayChild, appId: string): Promise<PeerWatch> {
    return new PeerWatch(relay, await BrokerPeer.open(relay, `${appId}-obsa`), await BrokerPeer.open(relay, `${appId}-obsb`))
  }

  async probe(): Promise<void> {
    const n = ++this.probes
    for (const [from, to, type] of [[this.a, this.b, 'OFFER'], [this.b, this.a, 'ANSWER']] as const) {
      from.send({ type: 'HEARTBEAT' })
      // A data connection in the mesh's serialization: the broker drops any other offer.
      from.send({ type, dst: to.id, payload: { probe: n, type: 'data', serialization: 'raw', sdp: { type: type.toLowerCase(), sdp: 'v=0\r\n' } } })
      await this.relay.orDeath(until(() => to.inbox.some((frame) => frame.type === type && frame.src === from.id && (frame.payload as { probe?: unknown } | undefined)?.probe === n) || !to.open, PROBE_TIMEOUT_MS, `${to.id} receiving ${type} ${n}`), PROBE_TIMEOUT_MS + 1000, 'a broker relay between well-behaved peers')
      if (!to.open) throw new Error(`the broker closed well-behaved peer ${to.id}'s socket (${to.closed})`)
    }
  }

  close(): void {
    this.a.close()
    this.b.close()
  }
}

/** A PeerJS client's socket to the broker, as the PeerJS library opens it. */
export class BrokerPeer {
  readonly inbox: Record<string, unknown>[] = []
  closed: string | null = null

  private constructor(readonly id: string, readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      try {
        this.inbox.push(JSON.parse(data.toString()) as Record<string, unknown>)
      } catch {
        this.inbox.push({ type: 'not-json?' })
      }
      if (this.inbox.length > 2000) this.inbox.splice(0, 1000)
    })
    ws.on('close', (code, reason) => { this.closed = `${code} ${reason.toString()}` })
    ws.on('error', () => undefined) // the close event follows
  }

  /** Opens the socket and waits for OPEN (id granted). */
  static async open(relay: RelayChild, id: string): Promise<BrokerPeer> {
    const peer = new BrokerPeer(id, new WebSocket(`${relay.wsUrl}/peerjs/peerjs?key=peerjs&id=${id}&token=tok-${id}`, { perMessageDeflate: false }))
    await relay.orDeath(until(() => peer.inbox.length > 0 || peer.closed !== null, PROBE_TIMEOUT_MS, `broker hello for ${id}`), PROBE_TIMEOUT_MS + 1000, 'a PeerJS id')
    if (peer.inbox[0]?.type !== 'OPEN') throw new Error(`the broker did not grant ${id}: ${JSON.stringify(peer.inbox[0])} ${peer.closed ?? ''}`)
    return peer
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN
  }

  send(frame: unknown): void {
    if (this.open) this.ws.send(JSON.stringify(frame))
  }

  close(): void {
    this.ws.terminate()
  }
}
