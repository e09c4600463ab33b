import { describe, expect, it } from 'vitest'
import type { ServerFrame } from '../protocol/events'
import { CoordinatorHost } from './coordinator-host'
import { openVerifier } from './hosted-coordinator'
import { MemoryStore } from './ports'
import { REPLY_PREFIX, ReplayingCoordinator, resumeKeyDigest } from './replaying-coordinator'

/**
 * A failover in miniature: coordinator A commits a write but dies before its ack reaches
 * the client; coordinator B loads the same store; the client logs in again with its resume
 * key and resends the request with its original id. Real host, real engine, real store.
 */
function coordinatorOn(store: MemoryStore, keys: string[], clock = { now: 1_000_000 }) {
  const out: { to: string[]; frame: ServerFrame }[] = []
  const host = new CoordinatorHost({
    coordinator: new ReplayingCoordinator(),
    store,
    verifier: openVerifier,
    now: () => clock.now,
    newResumeKey: () => keys.shift() ?? 'fallback-key-0000000000',
    sink: { send: (to, frame) => out.push({ to, frame }), close: () => undefined },
  })
  const request = async (conn: string, id: number, op: string, args: Record<string, unknown>) => {
    const from = out.length
    host.receive(conn, { t: 'req', id, op, args })
    // The reply leaves after the commit and the delivery chain: wait for it, not for a count of ticks.
    for (let round = 0; round < 100; round++) {
      await host.settled()
      const reply = out.slice(from).find((entry) => entry.frame.t === 'res' && entry.frame.id === id && entry.to.includes(conn))
      if (reply) return reply.frame as Extract<ServerFrame, { t: 'res' }>
      await new Promise((resolve) => setImmediate(resolve))
    }
    throw new Error(`no reply to ${op} #${id}`)
  }
  return { host, out, request }
}

function resumeKeyOf(reply: Extract<ServerFrame, { t: 'res' }>): string {
  if (!reply.ok) throw new Error(JSON.stringify(reply.error))
  return String(reply.result.resumeKey)
}

const write = (value: string) => ({ channelName: 'room', channelType: 1, items: [{ key: 'doc', value }] })

async function majorRevision(request: ReturnType<typeof coordinatorOn>['request'], conn: string, id: number): Promise<number> {
  const reply = await request(conn, id, 'getChannelMetadata', { channelName: 'room', channelType: 1 })
  if (!reply.ok) throw new Error(JSON.stringify(reply.error))
  return reply.result.majorRevision as number
}

describe('replies of applied writes survive a change of coordinator', () => {
  it('a write committed by the old coordinator and resent to the new one is answered, not applied twice', async () => {
    const store = new MemoryStore()
    const a = coordinatorOn(store, ['resume-key-of-alice-0001'])
    await a.host.start()
    const login = await a.request('a1', 1, 'login', { appId: 'app', userId: 'alice' })
    expect(login.ok).toBe(true)
    const resumeKey = resumeKeyOf(login)
    const first = await a.request('a1', 2, 'setChannelMetadata', write('v1'))
    expect(first.ok).toBe(true)
    const revisionAfterOne = await majorRevision(a.request, 'a1', 3)
    // The reply is in the store, committed with the write.
    expect([...store.entries.keys()].some((key) => key.startsWith(REPLY_PREFIX))).toBe(true)

    // A is gone before the client saw the ack; B takes over from the same store.
    const b = coordinatorOn(store, ['resume-key-minted-by-b-0001'])
    await b.host.start()
    const again = await b.request('b1', 10, 'login', { appId: 'app', userId: 'alice', resumeKey })
    expect(resumeKeyOf(again)).toBe(resumeKey) // B adopts the client's key
    const eventsBefore = b.out.filter((entry) => entry.frame.t === 'evt').length
    const resent = await b.request('b1', 2, 'setChannelMetadata', write('v1'))
    expect(resent).toEqual(first)
    expect(b.out.filter((entry) => entry.frame.t === 'evt').length).toBe(eventsBefore) // no storage event: nothing happened
    expect(await majorRevision(b.request, 'b1', 11)).toBe(revisionAfterOne)

    // A new request id is a new write.
    expect((await b.request('b1', 12, 'setChannelMetadata', write('v2'))).ok).toBe(true)
    expect(await majorRevision(b.request, 'b1', 13)).toBe(revisionAfterOne + 1)
  })

  it('another login (no resume key) reusing a request id is a new request, not an old reply', async () => {
    const store = new MemoryStore()
    const a = coordinatorOn(store, ['resume-key-of-alice-0002'])
    await a.host.start()
    await a.request('a1', 1, 'login', { appId: 'app', userId: 'alice' })
    await a.request('a1', 2, 'setChannelMetadata', write('v1'))
    const before = await majorRevision(a.request, 'a1', 3)

    const b = coordinatorOn(store, ['resume-key-of-reloaded-page'])
    await b.host.start()
    await b.request('b1', 1, 'login', { appId: 'app', userId: 'alice' })
    expect((await b.request('b1', 2, 'setChannelMetadata', write('v9'))).ok).toBe(true)
    expect(await majorRevision(b.request, 'b1', 3)).toBe(before + 1)
  })

  it('keeps at most 64 remembered replies per client login, deleting the oldest in the same commit', async () => {
    const store = new MemoryStore()
    const clock = { now: 1_000_000 }
    const a = coordinatorOn(store, ['resume-key-of-alice-0003'], clock)
    await a.host.start()
    await a.request('a1', 1, 'login', { appId: 'app', userId: 'alice' })
    for (let id = 2; id < 2 + 70; id++) {
      clock.now += 200 // under the seed's 10 storage calls per second
      const reply = await a.request('a1', id, 'setChannelMetadata', write(`v${id}`))
      expect(reply.ok).toBe(true)
      if (id % 4 === 0) await a.request('a1', 1000 + id, 'heartbeat', {})
    }
    const remembered = [...store.entries.keys()].filter((key) => key.startsWith(REPLY_PREFIX))
    expect(remembered).toHaveLength(64)
    // The newest stay: the first six ids (2–7) were dropped.
    expect(remembered.some((key) => key.endsWith('\u00002'))).toBe(false)
    expect(remembered.some((key) => key.endsWith('\u000071'))).toBe(true)
  })

  it('stores a digest of the resume key in reply keys, never the key itself (it is a session secret)', async () => {
    const store = new MemoryStore()
    const a = coordinatorOn(store, ['secret-resume-key-of-alice'])
    await a.host.start()
    const resumeKey = resumeKeyOf(await a.request('a1', 1, 'login', { appId: 'app', userId: 'alice' }))
    expect((await a.request('a1', 2, 'setChannelMetadata', write('v1'))).ok).toBe(true)
    const replyKeys = [...store.entries.keys()].filter((key) => key.startsWith(REPLY_PREFIX))
    expect(replyKeys).toHaveLength(1)
    expect(replyKeys[0]).toContain(resumeKeyDigest(resumeKey))
    expect(JSON.stringify([...store.entries])).not.toContain(resumeKey)
    // SHA-256, the same in Node and in browsers (tabs and mesh coordinators).
    expect(resumeKeyDigest('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
  })
})
