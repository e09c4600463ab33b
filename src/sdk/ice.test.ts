import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { ServedIce } from '../protocol/ice-servers'
import { IceConfigSource, RETRY_MIN_MS, type IceOptions } from './ice'

const TURN = { urls: ['turn:10.0.0.1:3478'], username: '1:alice', credential: 'c' }
const PAGE_STUN = { urls: 'stun:stun.page.example' }

/** A fake relay: answers each fetch with the next queued reply and records what it was asked. */
class FakeRelay {
  readonly asked: { url: string; authorization: string | undefined }[] = []
  private readonly replies: (() => Promise<Response>)[] = []

  answer(status: number, body: unknown): this {
    this.replies.push(async () => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } }))
    return this
  }

  unreachable(): this {
    this.replies.push(async () => { throw new TypeError('fetch failed') })
    return this
  }

  readonly fetch = (async (url: string, init?: RequestInit) => {
    this.asked.push({ url, authorization: (init?.headers as Record<string, string> | undefined)?.authorization })
    const reply = this.replies.shift()
    if (!reply) throw new Error('no reply queued')
    return reply()
  }) as unknown as typeof globalThis.fetch
}

const served = (ttl: number | null, extra: Partial<ServedIce> = {}): ServedIce => ({
  iceServers: [TURN], expiresAt: ttl === null ? null : Date.now() + ttl * 1000, ttl, ...extra,
})

let relay: FakeRelay
beforeEach(() => {
  vi.useFakeTimers()
  relay = new FakeRelay()
})
afterEach(() => { vi.useRealTimers() })

function source(page: IceOptions = {}, relayUrl: string | null = 'https://relay.example/signal') {
  return new IceConfigSource({ appId: 'app', userId: 'alice', relayUrl, page, autoFetch: true, fetch: relay.fetch })
}

describe('which ICE servers a peer connection gets', () => {
  it('before any answer, the page’s own servers; none at all without them', () => {
    expect(source({ iceServers: [PAGE_STUN] }).configuration()).toEqual({ iceServers: [PAGE_STUN] })
    expect(source().configuration()).toEqual({ iceServers: [] })
  })

  it('the relay’s servers for this user first, then the page’s', async () => {
    relay.answer(200, served(3600))
    const ice = source({ iceServers: [PAGE_STUN] })
    ice.follow('jwt-1')
    await ice.refresh()
    expect(ice.configuration()).toEqual({ iceServers: [TURN, PAGE_STUN] })
    expect(relay.asked).toEqual([{ url: 'https://relay.example/signal/ice-servers?appId=app&userId=alice', authorization: 'Bearer jwt-1' }])
  })

  it('a CallClient’s iceServers replace both; its policy beats the page’s, which beats the relay’s', async () => {
    relay.answer(200, served(3600, { iceTransportPolicy: 'relay' }))
    const ice = source({ iceServers: [PAGE_STUN] })
    ice.follow(undefined)
    await ice.refresh()
    expect(ice.configuration()).toEqual({ iceServers: [TURN, PAGE_STUN], iceTransportPolicy: 'relay' })
    expect(source({ iceTransportPolicy: 'all' }).configuration().iceTransportPolicy).toBe('all')
    expect(ice.configuration({ iceServers: [], iceTransportPolicy: 'all' })).toEqual({ iceServers: [], iceTransportPolicy: 'all' })
  })

  it('tabs mode without a relay asks nobody and uses the page’s servers', async () => {
    const ice = source({ iceServers: [PAGE_STUN], iceTransportPolicy: 'relay' }, null)
    ice.follow(undefined)
    await ice.refresh()
    expect(relay.asked).toEqual([])
    expect(ice.configuration()).toEqual({ iceServers: [PAGE_STUN], iceTransportPolicy: 'relay' })
  })
})

describe('keeping TURN credentials fresh', () => {
  it('asks again at 80 % of the lifetime, with the token of the moment', async () => {
    relay.answer(200, served(100)).answer(200, served(100, { iceServers: [{ ...TURN, username: '2:alice' }] }))
    const ice = source()
    ice.follow('jwt-1')
    await ice.refresh()
    await vi.advanceTimersByTimeAsync(79_000)
    expect(relay.asked).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1_000)
    expect(relay.asked).toHaveLength(2)
    expect((ice.configuration().iceServers![0] as RTCIceServer).username).toBe('2:alice')
  })

  it('expired credentials are left out (they would only earn 401s); a stale answer triggers a fetch when asked for', async () => {
    relay.answer(200, served(100)).unreachable()
    const ice = source({ iceServers: [PAGE_STUN] })
    ice.follow(undefined)
    await ice.refresh()
    vi.setSystemTime(Date.now() + 101_000) // the timer did not run (a sleeping laptop)
    expect(ice.configuration()).toEqual({ iceServers: [PAGE_STUN] })
    expect(relay.asked).toHaveLength(2)
  })

  it('a refused token is not asked with again; renewToken fetches with the new one', async () => {
    relay.answer(401, { error: { name: 'TOKEN_EXPIRED', reason: 'expired' } }).answer(200, served(3600))
    const ice = source()
    ice.follow('old')
    await ice.refresh()
    expect(ice.status).toMatchObject({ state: 'failed', retry: false, reason: expect.stringContaining('expired') })
    await vi.advanceTimersByTimeAsync(600_000)
    expect(relay.asked).toHaveLength(1)
    ice.useToken('new')
    await vi.waitFor(() => expect(ice.status.state).toBe('served'))
    expect(relay.asked.map((asked) => asked.authorization)).toEqual(['Bearer old', 'Bearer new'])
  })

  it('an unreachable relay is retried with backoff; a relay without the endpoint (404) is not', async () => {
    relay.unreachable().unreachable().answer(200, served(null))
    const ice = source()
    ice.follow(undefined)
    await ice.refresh()
    expect(ice.status).toMatchObject({ state: 'failed', retry: true })
    await vi.advanceTimersByTimeAsync(RETRY_MIN_MS)
    expect(relay.asked).toHaveLength(2)
    await vi.advanceTimersByTimeAsync(RETRY_MIN_MS * 2)
    expect(relay.asked).toHaveLength(3)
    expect(ice.status.state).toBe('served')

    const old = new FakeRelay().answer(404, 'not found')
    const withoutEndpoint = new IceConfigSource({ appId: 'a', userId: 'u', relayUrl: 'http://r', page: {}, autoFetch: true, fetch: old.fetch })
    withoutEndpoint.follow(undefined)
    await withoutEndpoint.refresh()
    await vi.advanceTimersByTimeAsync(RETRY_MIN_MS * 10)
    expect(old.asked).toHaveLength(1)
    expect(withoutEndpoint.status).toMatchObject({ state: 'failed', retry: false })
  })

  it('an answer that arrives after logout is dropped, and nothing is fetched after it', async () => {
    relay.answer(200, served(100))
    const ice = source()
    ice.follow('jwt')
    const pending = ice.refresh()
    ice.stop()
    await pending
    expect(ice.status.state).toBe('idle')
    expect(ice.configuration()).toEqual({ iceServers: [] })
    await vi.advanceTimersByTimeAsync(200_000)
    expect(relay.asked).toHaveLength(1)
  })

  it('garbage from the relay is not used', async () => {
    relay.answer(200, { iceServers: 'turn:evil' })
    const ice = source()
    ice.follow(undefined)
    await ice.refresh()
    expect(ice.status).toMatchObject({ state: 'failed' })
    expect(ice.configuration()).toEqual({ iceServers: [] })
  })
})
