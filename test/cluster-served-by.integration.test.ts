import pino from 'pino'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startBalancer, startRedis, type Balancer, type RedisProcess } from '../src/relay/cluster/local-processes'
import { startRelay, type Relay } from '../src/relay/server'
import type { RTM } from '../src/sdk'
import { Session } from '../src/ui/state/session.svelte'
import { client, until } from './helpers'

/**
 * Scaled mode tells a client which relay processes serve it (the login reply's `servedBy`):
 * the SDK exposes it as `rtm.servedBy`, the UI state as `session.servedBy` (the header shows
 * it). Relays are started with `startRelay` rather than `relayForTest`, so the file holds
 * the same in the spread run, where `relayForTest` would put its own cluster in their place.
 */
describe('who serves a client in scaled mode', () => {
  const logger = pino({ level: process.env.LOG_LEVEL ?? 'silent' })
  let redis: RedisProcess
  const relays: Relay[] = []
  const clients: RTM[] = []
  const sessions: Session[] = []
  let balancer: Balancer | undefined

  /** A scaled-mode relay in this process, named `name`, its state in the test's Redis. */
  const scaledRelay = async (name: string, prefix: string) => {
    const relay = await startRelay({ port: 0, logger, cluster: { redisUrl: redis.url, prefix, processId: name } })
    relays.push(relay)
    return relay
  }
  const join = async (relay: Relay | string, userId: string) => {
    const rtm = await client(relay, userId)
    clients.push(rtm)
    return rtm
  }
  let run = 0
  /** Each test's relays under a key prefix of their own: no partition leases left over from the last test. */
  const prefix = () => `served-by-${++run}-${process.pid}:`

  beforeAll(async () => { redis = await startRedis() })
  afterEach(async () => {
    for (const session of sessions.splice(0)) session.destroy()
    for (const rtm of clients.splice(0)) rtm.release()
    await balancer?.stop()
    balancer = undefined
    for (const relay of relays.splice(0)) await relay.close()
  })
  afterAll(async () => { await redis?.destroy() })

  it('names the relay holding the socket and one owner of the app for every client', async () => {
    const keys = prefix()
    const relay1 = await scaledRelay('relay1', keys)
    const relay2 = await scaledRelay('relay2', keys)
    const alice = await join(relay1, 'alice')
    const bob = await join(relay2, 'bob')
    expect(alice.servedBy?.gateway).toBe('relay1')
    expect(bob.servedBy?.gateway).toBe('relay2')
    // The first login took the app's partition; the second reached it through Redis.
    expect(alice.servedBy?.owner).toBe('relay1')
    expect(bob.servedBy?.owner).toBe('relay1')
  })

  it('is null with one relay process', async () => {
    const single = await startRelay({ port: 0, logger })
    relays.push(single)
    const alice = await join(single, 'alice')
    expect(alice.linkState).toBe('CONNECTED')
    expect(alice.servedBy).toBeNull()
  })

  it('the UI state shows it and follows a reconnect to another process', async () => {
    const keys = prefix()
    const relay1 = await scaledRelay('relay1', keys)
    const relay2 = await scaledRelay('relay2', keys)
    balancer = await startBalancer([{ port: relay1.port, name: 'relay1' }, { port: relay2.port, name: 'relay2' }])
    const session = await Session.start({ userId: 'carol', appId: 'test', mode: 'relay' }, { url: balancer.url }, null)
    sessions.push(session)
    // What the SDK held at each link change: a process only while connected.
    const seen: { state: string; gateway: string | null }[] = []
    session.rtm.addEventListener('linkState', (event) => seen.push({ state: event.currentState, gateway: session.rtm.servedBy?.gateway ?? null }))

    const first = session.servedBy
    expect(first?.gateway === 'relay1' || first?.gateway === 'relay2').toBe(true)
    expect(first).toEqual(session.rtm.servedBy)
    const [gone, other] = first?.gateway === 'relay1' ? [relay1, relay2] : [relay2, relay1]
    const otherName = gone === relay1 ? 'relay2' : 'relay1'

    // The gateway drains: the client reconnects through the balancer to the other process, which now owns the app too.
    relays.splice(relays.indexOf(gone), 1)
    await gone.close()
    await until(() => session.link === 'CONNECTED' && session.servedBy?.gateway === otherName, 15_000)
    expect(session.servedBy).toEqual({ gateway: otherName, owner: otherName })
    expect(other.cluster?.ownedPartitions.length).toBe(1)
    expect(seen.filter((change) => change.state !== 'CONNECTED').every((change) => change.gateway === null)).toBe(true)
    expect(seen.some((change) => change.state === 'DISCONNECTED')).toBe(true)
  })
})
