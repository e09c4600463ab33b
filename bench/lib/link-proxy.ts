import { connect, createServer, type Server, type Socket } from 'node:net'

/** What a held connection's first bytes start with when it is a socket.io WebSocket upgrade. */
const SOCKET_IO_UPGRADE = 'GET /socket.io/'

interface Held { client: Socket; chunks: Buffer[] }

/**
 * A TCP proxy on a free loopback port in front of a server, whose link can be cut: `cut()`
 * closes every connection through it (both ends see the TCP connection end, as in a network
 * failure) and holds new ones — accepted, their bytes kept, nothing forwarded — until
 * `restore()` forwards them. A client reconnecting during the cut waits on its attempt
 * instead of backing off, so "link back → reconnected" excludes the client's backoff timer.
 */
export class LinkProxy {
  readonly #server: Server
  readonly #live = new Set<Socket>()
  readonly #held = new Set<Held>()
  #cut = false

  private constructor(server: Server, private readonly targetPort: number, readonly url: string) {
    this.#server = server
  }

  static start(targetUrl: string): Promise<LinkProxy> {
    const targetPort = Number(new URL(targetUrl).port)
    return new Promise((resolve, reject) => {
      const server = createServer()
      server.once('error', reject)
      server.listen(0, '127.0.0.1', () => {
        const address = server.address()
        const port = typeof address === 'object' && address ? address.port : 0
        const proxy = new LinkProxy(server, targetPort, `http://127.0.0.1:${port}`)
        server.on('connection', (client) => proxy.#accept(client))
        resolve(proxy)
      })
    })
  }

  /** Held connections that are socket.io WebSocket upgrades (a client's reconnect attempt). */
  get heldUpgrades(): number {
    return [...this.#held].filter((held) => Buffer.concat(held.chunks).toString('latin1').startsWith(SOCKET_IO_UPGRADE)).length
  }

  /** Closes every connection through the proxy and holds new ones; returns how many were closed. */
  cut(): number {
    this.#cut = true
    const closed = this.#live.size / 2
    for (const socket of this.#live) socket.destroy()
    this.#live.clear()
    return closed
  }

  /** Forwards the held connections (their kept bytes first) and every new one; returns how many were held. */
  restore(): number {
    this.#cut = false
    const held = [...this.#held]
    this.#held.clear()
    for (const { client, chunks } of held) {
      client.removeAllListeners('data')
      client.removeAllListeners('close')
      this.#forward(client, chunks)
    }
    return held.length
  }

  close(): Promise<void> {
    this.cut()
    for (const { client } of this.#held) client.destroy()
    this.#held.clear()
    return new Promise((resolve) => this.#server.close(() => resolve()))
  }

  #accept(client: Socket): void {
    client.setNoDelay(true)
    client.on('error', () => client.destroy()) // a reset by the client: its close below tidies up
    if (!this.#cut) return this.#forward(client, [])
    const held: Held = { client, chunks: [] }
    this.#held.add(held)
    client.on('data', (chunk: Buffer) => held.chunks.push(chunk))
    client.on('close', () => this.#held.delete(held))
  }

  #forward(client: Socket, kept: Buffer[]): void {
    if (client.destroyed) return
    const upstream = connect(this.targetPort, '127.0.0.1')
    upstream.setNoDelay(true)
    for (const chunk of kept) upstream.write(chunk)
    this.#live.add(client)
    this.#live.add(upstream)
    const end = () => {
      client.destroy()
      upstream.destroy()
      this.#live.delete(client)
      this.#live.delete(upstream)
    }
    upstream.on('error', end)
    client.on('error', end)
    upstream.on('close', end)
    client.on('close', end)
    client.pipe(upstream)
    upstream.pipe(client)
  }
}
