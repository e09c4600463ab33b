import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { parseEnvelope, type Envelope } from '../protocol/peer-envelope'
import { connectFollower, PING_MS, SILENCE_MS, type EnvelopeBus } from './follower-link'

/** The in-memory twin of a BroadcastChannel / data channel: records posts, lets the test deliver. */
class MemoryBus implements EnvelopeBus {
  readonly posted: Envelope[] = []
  private listener: ((raw: unknown) => void) | null = null
  released = false
  post(envelope: Envelope): void { this.posted.push(envelope) }
  listen(listener: (raw: unknown) => void): () => void {
    this.listener = listener
    return () => { this.listener = null }
  }
  release(): void { this.released = true }
  deliver(raw: unknown): void { this.listener?.(raw) }
  last(kind: Envelope['kind']): Envelope | undefined { return this.posted.findLast((envelope) => envelope.kind === kind) }
}

function open() {
  const bus = new MemoryBus()
  const seen = { opened: 0, frames: [] as unknown[], closed: [] as string[], silent: [] as string[] }
  const link = connectFollower({ bus, self: 'tab-b', coordinator: 'tab-a', onSilent: (peer) => seen.silent.push(peer) }, {
    open: () => { seen.opened++ },
    frame: (frame) => seen.frames.push(frame),
    close: (reason) => seen.closed.push(reason),
  })
  const hello = bus.last('hello') as Extract<Envelope, { kind: 'hello' }>
  const welcome = () => bus.deliver({ kind: 'welcome', from: 'tab-a', to: 'tab-b', link: hello.link })
  return { bus, seen, link, hello, welcome, conn: `tab-b/${hello.link}` }
}

describe('a follower link to the coordinator', () => {
  beforeEach(() => { vi.useFakeTimers() })
  afterEach(() => { vi.useRealTimers() })

  it('says hello, opens on welcome, sends requests and takes frames addressed to its link', () => {
    const { bus, seen, link, welcome, conn } = open()
    expect(seen.opened).toBe(0)
    welcome()
    expect(seen.opened).toBe(1)
    link.send({ t: 'req', id: 1, op: 'heartbeat', args: {} })
    expect(bus.last('req')).toMatchObject({ to: 'tab-a', frame: { id: 1 } })
    bus.deliver({ kind: 'frame', from: 'tab-a', targets: [conn], frame: { t: 'res', id: 1, ok: true, result: {} } })
    bus.deliver({ kind: 'frame', from: 'tab-a', targets: ['tab-c/other'], frame: 'not ours' })
    expect(seen.frames).toEqual([{ t: 'res', id: 1, ok: true, result: {} }])
  })

  it('ignores envelopes from anyone but its coordinator, and malformed ones', () => {
    const { bus, seen, welcome, conn, hello } = open()
    welcome()
    bus.deliver({ kind: 'frame', from: 'tab-evil', targets: [conn], frame: { t: 'res', id: 1, ok: true, result: {} } })
    bus.deliver({ kind: 'close', from: 'tab-evil', to: 'tab-b', link: hello.link, reason: 'spoofed' })
    bus.deliver({ kind: 'frame', from: 'tab-a', targets: 'everyone' })
    bus.deliver('garbage')
    bus.deliver(null)
    expect(seen.frames).toEqual([])
    expect(seen.closed).toEqual([])
  })

  it('closes when the coordinator closes the link or steps down', () => {
    const first = open()
    first.welcome()
    first.bus.deliver({ kind: 'close', from: 'tab-a', to: 'tab-b', link: first.hello.link, reason: 'RESUMED_ELSEWHERE' })
    expect(first.seen.closed).toEqual(['RESUMED_ELSEWHERE'])
    expect(first.bus.released).toBe(true)

    const second = open()
    second.welcome()
    second.bus.deliver({ kind: 'resign', from: 'tab-a' })
    expect(second.seen.closed).toEqual(['the coordinator stepped down'])
  })

  it('pings while open; a coordinator that stops answering is reported silent and the link closes', () => {
    const { bus, seen, welcome, hello } = open()
    welcome()
    vi.advanceTimersByTime(PING_MS)
    expect(bus.last('ping')).toMatchObject({ to: 'tab-a', link: hello.link })
    bus.deliver({ kind: 'pong', from: 'tab-a', to: 'tab-b', link: hello.link })
    vi.advanceTimersByTime(PING_MS * 2)
    expect(seen.closed).toEqual([])
    vi.advanceTimersByTime(SILENCE_MS + PING_MS)
    expect(seen.silent).toEqual(['tab-a'])
    expect(seen.closed).toEqual(['the coordinator stopped answering'])
    expect(bus.last('bye')).toMatchObject({ to: 'tab-a', link: hello.link })
  })

  it('a slow ping loop (a throttled background tab) is not silence when every ping is answered', () => {
    const { bus, seen, welcome, hello } = open()
    welcome()
    for (let round = 0; round < 5; round++) {
      vi.advanceTimersByTime(PING_MS)
      bus.deliver({ kind: 'pong', from: 'tab-a', to: 'tab-b', link: hello.link })
    }
    expect(seen.closed).toEqual([])
  })

  it('a tab that itself stood still (frozen, paused in a debugger) does not take its own pause for the coordinator\'s silence', () => {
    const { bus, seen, welcome, hello } = open()
    welcome()
    vi.advanceTimersByTime(PING_MS)
    vi.setSystemTime(Date.now() + 20_000) // no timer ran for 20 s; the pong waits in the queue behind the next tick
    vi.advanceTimersByTime(PING_MS)
    expect(seen.silent).toEqual([])
    bus.deliver({ kind: 'pong', from: 'tab-a', to: 'tab-b', link: hello.link })
    vi.advanceTimersByTime(PING_MS)
    expect(seen.closed).toEqual([])
    // A coordinator that really stays silent is still found, a silence later.
    vi.advanceTimersByTime(SILENCE_MS + PING_MS)
    expect(seen.silent).toEqual(['tab-a'])
  })
})

describe('envelopes entering from a channel', () => {
  it('are parsed strictly: unknown kinds, missing addresses and oversized ids are dropped', () => {
    expect(parseEnvelope({ kind: 'beacon', from: 'tab-a', epoch: 1 })).toEqual({ kind: 'beacon', from: 'tab-a', epoch: 1 })
    expect(parseEnvelope({ kind: 'req', from: 'tab-a', link: 'x', frame: {} })).toBeNull() // no `to`
    expect(parseEnvelope({ kind: 'shutdown', from: 'tab-a' })).toBeNull()
    expect(parseEnvelope({ kind: 'hello', from: 'x'.repeat(500), to: 'tab-a', link: 'l' })).toBeNull()
    expect(parseEnvelope({ kind: 'replicate', from: 'a', to: 'b', seq: 1.5, writes: [] })).toBeNull()
  })
})
