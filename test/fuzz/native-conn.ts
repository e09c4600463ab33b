import { PacketType, RawSocketIo } from './raw-socketio'
import { describeExit, type RelayChild } from '../../bench/lib/relay-child'
import { until } from './waiting'

export interface Answer { t: 'res'; id: number; ok: boolean; result?: Record<string, unknown>; error?: { errorCode: number; reason?: string } }
export type EventFrame = { t: 'evt'; event: Record<string, unknown> & { kind: string } }

const ANSWER_TIMEOUT_MS = 10_000

/** A native connection for scripted scenarios: requests by op, several in one TCP write, answers by id. */
export class NativeConn {
  readonly answers = new Map<number, Answer>()
  readonly events: EventFrame[] = []
  private nextId = 1

  private constructor(private readonly relay: RelayChild, readonly socket: RawSocketIo) {
    socket.onPacket((packet) => {
      if (packet.type !== PacketType.EVENT && packet.type !== PacketType.BINARY_EVENT) return
      const [name, frame] = packet.data as [unknown, Answer | EventFrame | undefined]
      if (name !== 'f' || !frame) return
      if (frame.t === 'res') this.answers.set(frame.id, frame)
      else if (frame.t === 'evt') this.events.push(frame)
    })
  }

  static async open(relay: RelayChild): Promise<NativeConn> {
    return new NativeConn(relay, await relay.orDeath(RawSocketIo.connect(relay.url, '/'), ANSWER_TIMEOUT_MS, 'a native connection'))
  }

  /** Sends the requests in one TCP write; returns their ids in order. */
  sendTogether(requests: { op: string; args: unknown }[]): number[] {
    const ids = requests.map(() => this.nextId++)
    this.socket.sameWrite(() => requests.forEach(({ op, args }, i) => this.socket.emit('f', [{ t: 'req', id: ids[i], op, args }])))
    return ids
  }

  /** The answer to request `id`; fails if the relay dies or the connection closes first. */
  async answer(id: number): Promise<Answer> {
    await this.relay.orDeath(until(() => this.answers.has(id) || !this.socket.open, ANSWER_TIMEOUT_MS, `the answer to request ${id}`), ANSWER_TIMEOUT_MS + 1000, `the answer to request ${id}`)
    const answer = this.answers.get(id)
    if (answer) return answer
    // Closed without an answer: if the process is going down, say that rather than "closed".
    await Promise.race([this.relay.exited, new Promise((resolve) => setTimeout(resolve, 2000))])
    if (!this.relay.alive) throw new Error(`the relay died (${describeExit(this.relay.exit!)}) before answering request ${id}:\n${this.relay.lastLines()}`)
    throw new Error(`the relay closed the connection (${this.socket.closed?.reason || 'no reason'}) without answering request ${id}`)
  }

  async request(op: string, args: unknown): Promise<Answer> {
    const [id] = this.sendTogether([{ op, args }])
    return this.answer(id)
  }

  /** Waits for an event matching `match` (already received ones count). */
  async event(match: (frame: EventFrame) => boolean, what: string): Promise<EventFrame> {
    await this.relay.orDeath(until(() => this.events.some(match), ANSWER_TIMEOUT_MS, what), ANSWER_TIMEOUT_MS + 1000, what)
    return this.events.find(match)!
  }

  close(): void {
    this.socket.close()
  }
}
