import { createSocket, type RemoteInfo, type Socket } from 'node:dgram'

/**
 * A userland UDP forwarder that drops and delays datagrams, for tests that need a degraded
 * media path: this kernel has no netem (see /work/shared/FACTS.md, "Loss and delay").
 * Put it in front of a real endpoint (a browser's host candidate, a TURN server) and hand
 * its address out instead; ICE checks and media both pass through it.
 */

export interface Impairment {
  /** Share of datagrams dropped, 0–1, each direction on its own. */
  loss?: number
  /** Added one-way delay, ms. */
  delayMs?: number
  /** Each datagram's delay varies uniformly by ± this many ms (so datagrams may reorder). */
  jitterMs?: number
  /**
   * A bandwidth cap, kbit/s of UDP payload, each direction on its own (0: none): a token
   * bucket RATE_BURST_MS deep, with a queue of RATE_QUEUE_MS behind it; what does not fit is
   * dropped, as a congested bottleneck's queue would.
   */
  rateKbps?: number
}

/** The bucket of a capped direction holds this many ms of its rate (at least one full datagram). */
export const RATE_BURST_MS = 20
/** Datagrams that find the bucket empty wait in a queue of this many ms of the rate; past it they are dropped. */
export const RATE_QUEUE_MS = 100
const MTU_BYTES = 1_500

export interface UdpImpairmentOptions extends Impairment {
  target: { address: string; port: number }
  /** Makes the drops and delays repeatable; without it they come from Math.random. */
  seed?: number
  /** Where it listens, and where its upstream sockets bind; default 127.0.0.1. */
  host?: string
}

export interface UdpImpairment {
  address: string
  port: number
  /** Datagrams forwarded, and datagrams dropped (on purpose, or a send failed), both directions together. */
  stats(): { forwarded: number; dropped: number }
  setImpairment(impairment: Impairment): void
  /** Closes every socket; datagrams still waiting out their delay are discarded. */
  close(): Promise<void>
}

/**
 * Listens on `host` (port 0) and forwards every datagram from a client to `target`, from
 * one upstream socket per client address, so the target tells the clients apart (several
 * ICE agents or TURN clients can share one forwarder); replies to that socket go back to
 * that client. Loss and delay apply both ways.
 *
 * @example
 * const link = await startUdpImpairment({ target: { address: '10.99.0.1', port: 3478 }, loss: 0.05, delayMs: 80 })
 * // give out link.address:link.port instead of 10.99.0.1:3478 … then
 * await link.close()
 */
export async function startUdpImpairment(options: UdpImpairmentOptions): Promise<UdpImpairment> {
  const host = options.host ?? '127.0.0.1'
  let impairment = { loss: 0, delayMs: 0, jitterMs: 0, rateKbps: 0 }
  // One bucket per direction: a capped downlink leaves the uplink alone.
  const shapers = { up: new RateShaper(), down: new RateShaper() }
  const setImpairment = (next: Impairment) => {
    impairment = {
      loss: next.loss ?? impairment.loss, delayMs: next.delayMs ?? impairment.delayMs,
      jitterMs: next.jitterMs ?? impairment.jitterMs, rateKbps: next.rateKbps ?? impairment.rateKbps,
    }
    for (const shaper of Object.values(shapers)) shaper.setRate(impairment.rateKbps)
  }
  setImpairment(options)
  const random = options.seed === undefined ? Math.random : mulberry32(options.seed)
  const counts = { forwarded: 0, dropped: 0 }
  const timers = new Set<ReturnType<typeof setTimeout>>()
  let closed = false

  /** `send` hands the datagram to a socket and calls back when it has gone (or failed to): lost, shaped, then delayed. */
  const pass = (direction: keyof typeof shapers, bytes: number, send: (sent: (error: Error | null) => void) => void) => {
    if (random() < impairment.loss) {
      counts.dropped++
      return
    }
    if (!shapers[direction].offer(bytes, () => { if (!closed) delayed(send) })) counts.dropped++
  }
  const delayed = (send: (sent: (error: Error | null) => void) => void) => {
    const delay = Math.max(0, impairment.delayMs + (random() * 2 - 1) * impairment.jitterMs)
    const sent = (error: Error | null) => { if (error) counts.dropped++; else counts.forwarded++ }
    const deliver = () => {
      if (closed) return
      try {
        send(sent)
      } catch (error) {
        sent(error as Error) // the client's upstream failed and closed meanwhile
      }
    }
    if (delay === 0) return deliver()
    const timer = setTimeout(() => {
      timers.delete(timer)
      deliver()
    }, delay)
    timers.add(timer)
  }

  const front = await bound(host)
  const upstreams = new Map<string, Promise<Socket>>()
  // One bind per client: a burst from a new client waits on the same promise.
  const upstreamFor = (client: RemoteInfo): Promise<Socket> => {
    const key = `${client.address}:${client.port}`
    let upstream = upstreams.get(key)
    if (!upstream) {
      upstream = bound(host).then((socket) => {
        socket.on('message', (data) => pass('down', data.length, (sent) => front.send(data, client.port, client.address, sent)))
        // An upstream that fails ends only that client's path; its next datagram opens a new one.
        socket.on('error', () => {
          upstreams.delete(key)
          socket.close()
        })
        return socket
      })
      upstreams.set(key, upstream)
      upstream.catch(() => upstreams.delete(key))
    }
    return upstream
  }
  front.on('message', (data, client) => {
    upstreamFor(client).then(
      (upstream) => pass('up', data.length, (sent) => upstream.send(data, options.target.port, options.target.address, sent)),
      () => { counts.dropped++ }, // no socket could be bound for this client
    )
  })

  const { address, port } = front.address()
  return {
    address,
    port,
    stats: () => ({ ...counts }),
    setImpairment,
    async close() {
      closed = true
      for (const shaper of Object.values(shapers)) shaper.close()
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      const opened = await Promise.allSettled(upstreams.values())
      const sockets = [front, ...opened.flatMap((result) => result.status === 'fulfilled' ? [result.value] : [])]
      upstreams.clear()
      await Promise.all(sockets.map((socket) => new Promise<void>((resolve) => {
        try {
          socket.close(() => resolve())
        } catch {
          resolve() // already closed after an error
        }
      })))
    },
  }
}

/**
 * One direction's bandwidth cap: a token bucket (bytes, refilled at the rate, RATE_BURST_MS
 * deep) and a FIFO queue of RATE_QUEUE_MS behind it. Uncapped (rate 0), everything goes at once.
 */
class RateShaper {
  private bytesPerMs = 0
  private tokens = 0
  private refilledAt = performance.now()
  private readonly queue: { bytes: number; go: () => void }[] = []
  private queuedBytes = 0
  private timer: ReturnType<typeof setTimeout> | null = null

  setRate(kbps: number): void {
    this.refill()
    const wasCapped = this.bytesPerMs > 0
    this.bytesPerMs = kbps > 0 ? kbps / 8 : 0
    // A new cap starts with a full bucket; a changed one keeps what it has.
    this.tokens = wasCapped ? Math.min(this.tokens, this.depth) : this.depth
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    if (this.bytesPerMs === 0) this.drain() // lifted: what waits goes now
    else this.schedule()
  }

  /** Sends now, or queues, or (false) drops. */
  offer(bytes: number, go: () => void): boolean {
    if (this.bytesPerMs === 0) return go(), true
    this.refill()
    if (this.queue.length === 0 && this.tokens >= bytes) {
      this.tokens -= bytes
      go()
      return true
    }
    if (this.queuedBytes + bytes > Math.max(MTU_BYTES * 2, this.bytesPerMs * RATE_QUEUE_MS)) return false
    this.queue.push({ bytes, go })
    this.queuedBytes += bytes
    this.schedule()
    return true
  }

  close(): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    this.queue.length = 0
  }

  private get depth(): number {
    return Math.max(MTU_BYTES, this.bytesPerMs * RATE_BURST_MS)
  }

  private refill(): void {
    const now = performance.now()
    this.tokens = Math.min(this.depth, this.tokens + (now - this.refilledAt) * this.bytesPerMs)
    this.refilledAt = now
  }

  /** Sends the queue's head while the bucket allows (all of it when uncapped), then waits for the next. */
  private drain(): void {
    this.timer = null
    this.refill()
    while (this.queue.length > 0 && (this.bytesPerMs === 0 || this.tokens >= this.queue[0]!.bytes)) {
      const head = this.queue.shift()!
      this.queuedBytes -= head.bytes
      if (this.bytesPerMs > 0) this.tokens -= head.bytes
      head.go()
    }
    this.schedule()
  }

  private schedule(): void {
    if (this.timer !== null || this.queue.length === 0 || this.bytesPerMs === 0) return
    const wait = Math.max(1, (this.queue[0]!.bytes - this.tokens) / this.bytesPerMs)
    this.timer = setTimeout(() => this.drain(), wait)
  }
}

function bound(host: string): Promise<Socket> {
  const socket = createSocket('udp4')
  return new Promise((resolve, reject) => {
    socket.once('error', reject)
    socket.bind(0, host, () => {
      socket.off('error', reject)
      resolve(socket)
    })
  })
}

/** A small seeded PRNG (mulberry32): repeatable drops and delays for a given seed. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
