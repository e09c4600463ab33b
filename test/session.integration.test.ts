import { SignJWT } from 'jose'
import { io as connect } from 'socket.io-client'
import { afterEach, describe, expect, it } from 'vitest'
import type { Relay } from '../src/relay/server'
import { RTM } from '../src/sdk'
import { Capture, client, processesOf, relayForTest } from './helpers'
import { dropSocketOf } from './relay-control'

const SECRET = 'integration-test-secret'
const token = (sub: string, expiresInSeconds: number, claims: Record<string, unknown> = {}) =>
  new SignJWT({ ...claims }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub)
    .setExpirationTime(Math.floor(Date.now() / 1000) + expiresInSeconds).sign(new TextEncoder().encode(SECRET))

/** A bare socket.io client speaking the native protocol, for what the SDK would never send. */
function rawClient(url: string) {
  const socket = connect(url, { transports: ['websocket'], reconnection: false, forceNew: true })
  let nextId = 1
  const frames: unknown[] = []
  socket.on('f', (frame: unknown) => frames.push(frame))
  return {
    socket, frames,
    request(op: string, args: unknown): Promise<{ ok: boolean; result?: Record<string, unknown>; error?: Record<string, unknown> }> {
      const id = nextId++
      return new Promise((resolve) => {
        const onFrame = (frame: { t: string; id: number }) => {
          if (frame.t === 'res' && frame.id === id) { socket.off('f', onFrame); resolve(frame as never) }
        }
        socket.on('f', onFrame)
        socket.emit('f', { t: 'req', id, op, args })
      })
    },
  }
}

describe('sessions on a real relay', () => {
  const relays: Relay[] = []
  const clients: RTM[] = []
  const start = async (options = {}) => { const relay = await relayForTest(options); relays.push(relay); return relay }
  const join = async (relay: Relay | string, userId: string, config = {}) => {
    const rtm = await client(relay, userId, config)
    clients.push(rtm)
    return rtm
  }
  afterEach(async () => {
    for (const rtm of clients.splice(0)) rtm.release()
    for (const relay of relays.splice(0)) await relay.close()
  })

  it('a socket killed without logout is REMOTE_TIMEOUT for the other user after presenceTimeout', async () => {
    const relay = await start()
    const bob = await join(relay, 'bob')
    const presence = new Capture(bob, 'presence')
    await bob.subscribe('lobby')
    const ghost = rawClient(relay.url)
    expect(await ghost.request('login', { appId: 'test', userId: 'ghost', presenceTimeout: 5 })).toMatchObject({ ok: true })
    expect(await ghost.request('subscribe', { channelName: 'lobby' })).toMatchObject({ ok: true })
    await presence.next((e) => e.eventType === 'REMOTE_JOIN' && e.publisher === 'ghost')
    const killedAt = Date.now()
    ghost.socket.disconnect()
    const timeout = await presence.next((e) => e.eventType === 'REMOTE_TIMEOUT' && e.publisher === 'ghost', 12_000)
    expect(timeout.channelName).toBe('lobby')
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(5_000)
    expect(presence.seen.some((e) => e.eventType === 'REMOTE_LEAVE' && e.publisher === 'ghost')).toBe(false)
  })

  it('after a relay restart the client logs in again, resumes and receives messages on its old channels', async () => {
    const first = await start()
    const port = first.port
    const alice = await join(first, 'alice')
    const link = new Capture(alice, 'linkState')
    const messages = new Capture(alice, 'message')
    await alice.subscribe('news')
    await alice.presence.setState('news', 'MESSAGE', { role: 'reader' })
    await first.close()
    relays.splice(relays.indexOf(first), 1)
    await link.next((e) => e.currentState === 'DISCONNECTED')
    const second = await start({ port })
    const back = await link.next((e) => e.currentState === 'CONNECTED' && e.operation === 'RECONNECTED')
    expect(back).toMatchObject({ isResumed: true, previousState: 'DISCONNECTED', unrestoredChannels: [] })
    const bob = await join(second, 'bob')
    await bob.publish('news', 'after the restart')
    expect((await messages.next((e) => e.message === 'after the restart')).publisher).toBe('bob')
    expect(await bob.presence.getState('alice', 'news', 'MESSAGE')).toMatchObject({ states: { role: 'reader' } })
  })

  it('a dropped socket resumes the same session: the others see no leave', async () => {
    const relay = await start()
    const alice = await join(relay, 'alice')
    const bob = await join(relay, 'bob')
    const bobPresence = new Capture(bob, 'presence')
    const link = new Capture(alice, 'linkState')
    await alice.subscribe('lobby')
    await bob.subscribe('lobby')
    dropSocketOf(relay, 'alice')
    expect(await link.next((e) => e.operation === 'RECONNECTED')).toMatchObject({ isResumed: true })
    const messages = new Capture(alice, 'message')
    await bob.publish('lobby', 'welcome back')
    await messages.next((e) => e.message === 'welcome back')
    expect(bobPresence.seen.filter((e) => e.publisher === 'alice' && e.eventType !== 'REMOTE_JOIN')).toEqual([])
  })

  it('the same userId on a second connection replaces the first, which fails with SAME_UID_LOGIN and stays down', async () => {
    const relay = await start()
    const first = await join(relay, 'alice')
    const link = new Capture(first, 'linkState')
    await join(relay, 'alice')
    const failed = await link.next((e) => e.currentState === 'FAILED')
    expect(failed).toMatchObject({ operation: 'SERVER_REJECT', reasonCode: 'SAME_UID_LOGIN' })
    await expect(first.publish('x', 'y')).rejects.toMatchObject({ errorCode: -10002 })
  })

  it('malformed and hostile frames get INVALID_PARAMETER and the relay keeps serving', async () => {
    const relay = await start()
    const raw = rawClient(relay.url)
    expect(await raw.request('publish', { channelName: 'x' })).toMatchObject({ ok: false, error: { errorCode: -10014 } })
    expect(await raw.request('login', { appId: 'test', userId: { $gt: '' } })).toMatchObject({ ok: false, error: { errorCode: -10014, operation: 'login' } })
    expect(await raw.request('__proto__', {})).toMatchObject({ ok: false, error: { errorCode: -10014 } })
    expect(await raw.request('login', { appId: 'test', userId: 'raw' })).toMatchObject({ ok: true })
    expect(await raw.request('publish', { channelName: 'x', channelType: 9, message: 'm' })).toMatchObject({ ok: false, error: { errorCode: -10014 } })
    for (const junk of [null, 42, 'text', [], { t: 'req' }, { t: 'req', id: -1, op: 'login' }, { t: 'req', id: 1, op: 'x'.repeat(10_000) }]) raw.socket.emit('f', junk)
    raw.socket.emit('f', { t: 'req', id: 99, op: 'publish', args: { channelName: 'lobby', channelType: 1, message: 'x'.repeat(40_000) } })
    // Every process's health (several behind the balancer in the spread run): the one session is on one of them.
    const healths = await Promise.all(processesOf(relay).map(async (each) => (await fetch(`${each.url}/healthz`)).json()))
    for (const health of healths) expect(health).toMatchObject({ status: 'ok', version: expect.any(String) })
    expect(healths.reduce((sum, health) => sum + health.sessions, 0)).toBe(1)
    for (const health of healths) expect(health.uptime).toBeGreaterThanOrEqual(0)
    const alice = await join(relay, 'alice')
    await expect(alice.publish('lobby', 'still alive')).resolves.toMatchObject({ channelName: 'lobby' })
  })

  describe('with a token secret', () => {
    it('accepts a valid HS256 token and rejects invalid ones with -10005 and expired ones with -10009', async () => {
      const relay = await start({ tokenSecret: SECRET })
      const ok = new RTM('test', 'alice', { url: relay.url })
      clients.push(ok)
      await expect(ok.login({ token: await token('alice', 3600) })).resolves.toHaveProperty('timestamp')
      for (const [userId, bad, code] of [
        ['bob', undefined, -10005],
        ['carol', 'not-a-jwt', -10005],
        ['dave', await token('mallory', 3600), -10005],
        ['erin', await token('erin', -60), -10009],
      ] as const) {
        const rtm = new RTM('test', userId, { url: relay.url })
        clients.push(rtm)
        await expect(rtm.login({ token: bad })).rejects.toMatchObject({ errorCode: code, operation: 'login' })
        expect(rtm.linkState).toBe('FAILED')
      }
    })

    it('warns with tokenPrivilegeWillExpire 30 s before expiry, and renewToken is verified', async () => {
      const relay = await start({ tokenSecret: SECRET })
      const alice = new RTM('test', 'alice', { url: relay.url })
      clients.push(alice)
      const warnings = new Capture(alice, 'tokenPrivilegeWillExpire')
      await alice.login({ token: await token('alice', 31) })
      expect(await warnings.next(undefined, 5_000)).toMatchObject({ channelName: '' })
      await expect(alice.renewToken(await token('bob', 3600))).rejects.toMatchObject({ errorCode: -10005, operation: 'renewToken' })
      await expect(alice.renewToken(await token('alice', 3600))).resolves.toHaveProperty('timestamp')
    })
  })
})
