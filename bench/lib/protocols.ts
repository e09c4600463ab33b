import { LiteSocket, type Marked } from './wire'

/** What a benchmark does with one client session, whatever the server speaks. */
export interface BenchConn {
  /** How other clients address this one directly (user id, or EasyRTC's easyrtcid). */
  readonly address: string
  login(userId: string, channels: string[]): Promise<void>
  publish(channel: string, text: string): Promise<void>
  direct(to: string, text: string): Promise<void>
  onMarked: (marked: Marked) => void
  close(): void
}

export type ProtocolName = 'native' | 'easyrtc'

export async function openConn(protocol: ProtocolName, url: string): Promise<BenchConn> {
  const socket = await LiteSocket.connect(url)
  return protocol === 'native' ? new NativeConn(socket) : new EasyrtcConn(socket)
}

interface Pending { resolve(result: unknown): void; reject(error: Error): void }

/** Our relay's wire: `'f'` frames `{t:'req'}` → `{t:'res'}` and `{t:'evt'}` (also spoken by the floor). */
class NativeConn implements BenchConn {
  address = ''
  onMarked: (marked: Marked) => void = () => {}
  readonly #socket: LiteSocket
  readonly #pending = new Map<number, Pending>()
  #nextId = 1

  constructor(socket: LiteSocket) {
    this.#socket = socket
    socket.onMarked = (marked) => this.onMarked(marked)
    socket.onRaw = (text) => {
      if (text.includes('"t":"res"')) this.#settle(JSON.parse(text.slice(2))[1])
      return true // presence and other events are not measured
    }
  }

  #settle(frame: { id: number; ok: boolean; result?: unknown; error?: unknown }): void {
    const pending = this.#pending.get(frame.id)
    this.#pending.delete(frame.id)
    if (frame.ok) pending?.resolve(frame.result)
    else pending?.reject(new Error(`request failed: ${JSON.stringify(frame.error)}`))
  }

  #request(op: string, args: unknown): Promise<unknown> {
    const id = this.#nextId++
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject })
      this.#socket.emit('f', { t: 'req', id, op, args })
    })
  }

  async login(userId: string, channels: string[]): Promise<void> {
    await this.#request('login', { appId: 'bench', userId })
    this.address = userId
    // withPresence:false: these runs measure messaging, not presence storms.
    await Promise.all(channels.map((channelName) => this.#request('subscribe', { channelName, withPresence: false })))
  }

  async publish(channel: string, text: string): Promise<void> {
    await this.#request('publish', { channelName: channel, channelType: 1, message: text })
  }

  async direct(to: string, text: string): Promise<void> {
    await this.#request('publish', { channelName: to, channelType: 3, message: text })
  }

  close(): void {
    this.#socket.close()
  }
}

const ACK = { msgType: 'ack', msgData: {} }

/** open-easyrtc 2.1.8's wire: `easyrtcAuth` then `easyrtcMsg`, replies through socket.io acks. */
class EasyrtcConn implements BenchConn {
  address = ''
  onMarked: (marked: Marked) => void = () => {}
  readonly #socket: LiteSocket

  constructor(socket: LiteSocket) {
    this.#socket = socket
    // Its server emits every push with a callback; the real client answers each with an ack.
    socket.onMarked = (marked, ack) => {
      if (ack !== null) socket.ack(ack, ACK)
      this.onMarked(marked)
    }
    socket.onRaw = (_text, ack) => {
      if (ack !== null) socket.ack(ack, ACK)
      return true
    }
  }

  async login(userId: string, channels: string[]): Promise<void> {
    const roomJoin = Object.fromEntries(channels.map((roomName) => [roomName, { roomName }]))
    const [reply] = await this.#socket.emitWithAck('easyrtcAuth', {
      msgType: 'authenticate',
      msgData: { apiVersion: '1.1.1-beta', applicationName: 'bench', ...(channels.length ? { roomJoin } : {}) },
    }) as [{ msgType: string; msgData: { easyrtcid?: string } }]
    if (reply.msgType === 'error') throw new Error(`easyrtcAuth failed for ${userId}: ${JSON.stringify(reply.msgData)}`)
    this.address = reply.msgData.easyrtcid ?? ''
  }

  async #send(message: object): Promise<void> {
    const [reply] = await this.#socket.emitWithAck('easyrtcMsg', { msgType: 'bench', ...message }) as [{ msgType: string; msgData: unknown }]
    if (reply?.msgType === 'error') throw new Error(`easyrtcMsg failed: ${JSON.stringify(reply.msgData)}`)
  }

  publish(channel: string, text: string): Promise<void> {
    return this.#send({ msgData: text, targetRoom: channel })
  }

  direct(to: string, text: string): Promise<void> {
    return this.#send({ msgData: text, targetEasyrtcid: to })
  }

  close(): void {
    this.#socket.close()
  }
}
