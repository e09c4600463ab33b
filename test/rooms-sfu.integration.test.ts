import { beforeEach, describe, expect, it } from 'vitest'
import { SFU_AUDIO_SLOTS, SFU_SESSION, SFU_VIDEO_SLOTS } from '../src/protocol/sfu'
import type { Relay } from '../src/relay/server'
import { relaysPerTest, until, valueWhen } from './helpers'
import { RawRoomClient, session, type Frame, type Session } from './raw-room-client'

/**
 * SFU rooms (`eg: 'sfu'`, issue 19) on the real relay with its real worker process (werift),
 * driven by plain /ws/rooms clients: the JOIN ack's `es.sdps` is the worker's offer, a busy or
 * stopped worker refuses new members with seed 001's "Server overload", and junk sent to the
 * SFU costs neither the relay nor the worker.
 */

const STARTING_WORKER_MS = 20_000
const { cleanup, start } = relaysPerTest()
let relay: Relay
beforeEach(async () => { relay = await start({ sfu: { workers: 1, lagBudgetMs: 100 } }) })

async function raw(on: Relay = relay): Promise<RawRoomClient> {
  const c = await RawRoomClient.open(on)
  cleanup.push(() => c.ws.terminate())
  return c
}

/** JOIN and its ack; the first SFU JOIN of a relay waits for its worker to start (a few seconds on a busy box). */
function join(client: RawRoomClient, who: Session, rid: string, { creating = false, eg = 'sfu', ch = 'a2m' } = {}): Promise<Frame> {
  client.send('join', { s: 'JOIN', ch, ss: who, rid, ve: true, ae: true, eg, op: { roomCreating: creating } })
  return client.inbox.ack('JOIN', undefined, STARTING_WORKER_MS)
}

function sections(sdp: string, kind: 'video' | 'audio'): number {
  return sdp.split('\r\n').filter((line) => line.startsWith(`m=${kind} `)).length
}

const sfuPid = () => relay.sfu?.figures()[0]?.pid

describe('SFU rooms on the relay (eg: sfu)', () => {
  it("the creator's eg:'sfu' makes an SFU room: every JOIN ack is eg sfu with its own receive offer from the worker", async () => {
    const alice = session('alice')
    const bob = session('bob')
    const [a, b] = [await raw(), await raw()]
    const created = await join(a, alice, 'webinar', { creating: true })
    expect(created).toMatchObject({ c: 200, b: { eg: 'sfu', pt: 'admin', es: { sdps: { id: alice.sessionId } } } })
    const joined = await join(b, bob, 'webinar', { eg: 'native' }) // the room's engine, whatever a later member asks
    expect(joined).toMatchObject({ c: 200, b: { eg: 'sfu', pt: 'viewer', es: { sdps: { id: bob.sessionId } } } })
    const offers = [created, joined].map((ack) => (ack.b!.es as { sdps: { sdp: string } }).sdps.sdp)
    for (const sdp of offers) {
      expect(sdp).toMatch(/^v=0\r\n/)
      expect([sections(sdp, 'video'), sections(sdp, 'audio')]).toEqual([SFU_VIDEO_SLOTS, SFU_AUDIO_SLOTS])
      expect(sdp).toMatch(/a=fingerprint:sha-256 /)
      expect(sdp).toMatch(/a=candidate:/)
    }
    expect(offers[0]).not.toBe(offers[1]) // a connection each
    expect(relay.coordinator.roomsOf('demo')?.room('webinar')?.engine).toBe('sfu')
  })

  it('a JOIN again on the same socket brings a new receive offer, and the worker drops the old connection', async () => {
    const alice = session('alice')
    const a = await raw()
    const first = await join(a, alice, 'again', { creating: true })
    // Once the worker has its 4 offers prepared again, one more connection is open: the member's.
    const oneOfItsOwn = () => valueWhen('4 offers prepared and one connection more', async () => {
      const [figures] = await relay.sfu!.measure()
      return figures.prepared === 4 && figures.connections === 5
    }, 15_000, 100)
    expect(await oneOfItsOwn()).toBe(true)
    const second = await join(a, alice, 'again', { creating: true })
    const sdpOf = (ack: Frame) => (ack.b!.es as { sdps: { sdp: string } }).sdps.sdp
    expect(second).toMatchObject({ c: 200, b: { eg: 'sfu', es: { sdps: { id: alice.sessionId } } } })
    expect(sdpOf(second)).not.toBe(sdpOf(first))
    // Had the old one stayed, the worker would hold 6 once its offers are back to 4.
    expect(await oneOfItsOwn()).toBe(true)
  })

  it('a relay without an SFU answers eg native and no sdps', async () => {
    const plain = await start()
    const client = await raw(plain)
    const ack = await join(client, session('alice'), 'r', { creating: true })
    expect(ack).toMatchObject({ c: 200, b: { eg: 'native' } })
    expect((ack.b!.es as Record<string, unknown>).sdps).toBeUndefined()
  })

  it('a stopped worker takes no new members (500 "Server overload"), and takes them again once it answers', async () => {
    const a = await raw()
    await join(a, session('alice'), 'busy', { creating: true })
    await until(() => sfuPid() !== undefined)
    const pid = sfuPid()!
    process.kill(pid, 'SIGSTOP')
    cleanup.push(() => { try { process.kill(pid, 'SIGCONT') } catch { /* gone */ } })
    const b = await raw()
    const bob = session('bob')
    // The pool counts a worker silent for four report intervals (2 s) as stuck.
    const refused = await valueWhen('a refused JOIN', async () => {
      const ack = await join(b, bob, 'busy')
      if (ack.c === 200) await b.request('leave', { s: 'LEAVE', ch: 'a2m', ss: bob, rid: 'busy' }, 'LEAVE')
      return ack.c === 200 ? null : ack
    }, 15_000, 100)
    expect(refused).toMatchObject({ c: 500, s: 'JOIN', b: { msg: expect.stringMatching(/^Server overload: /) } })
    process.kill(pid, 'SIGCONT')
    const accepted = await valueWhen('an accepted JOIN', async () => {
      const ack = await join(b, bob, 'busy')
      return ack.c === 200 ? ack : null
    }, 15_000, 100)
    expect(accepted).toMatchObject({ c: 200, b: { eg: 'sfu', es: { sdps: { id: bob.sessionId } } } })
  })

  it('junk sent to the SFU (a bad answer, candidates, notifies) costs neither the relay nor the worker', async () => {
    const alice = session('alice')
    const a = await raw()
    await join(a, alice, 'junk', { creating: true })
    await until(() => sfuPid() !== undefined)
    const pid = sfuPid()
    const to = { sessionId: SFU_SESSION.sessionId }
    const base = { ch: 'a2m', ss: alice, rid: 'junk', to }
    a.send('answer', { s: 'ANSWER', ...base, sdp: 'v=0\r\nthis is not an answer\r\n' })
    a.send('offer', { s: 'OFFER', ...base, sdp: { type: 'offer', sdp: 'm=video 9 nonsense' } })
    a.send('candidate', { s: 'CANDIDATE', ...base, side: 'subscriber', candidate: { candidate: 'candidate:0 1 UDP 1 300.1.1.1 99999 typ host', sdpMid: '77', sdpMLineIndex: 40 } })
    a.send('candidate', { s: 'CANDIDATE', ...base, side: 'publisher', candidate: { candidate: 'garbage' } })
    for (const type of ['sfu.layer', 'sfu.keyframe', 'sfu.unknown']) a.send('notify', { s: 'NOTIFY', ...base, type, data: { sessionId: 'nobody', layer: 'zz' } })
    // Still serving: a new member gets an offer from the same worker, which still reports.
    const b = await raw()
    expect(await join(b, session('bob'), 'junk')).toMatchObject({ c: 200, b: { eg: 'sfu' } })
    const before = relay.sfu!.figures()[0]
    const [after] = await relay.sfu!.measure()
    expect(sfuPid()).toBe(pid)
    expect(after.connections).toBeGreaterThan(0)
    expect(before).toBeDefined()
  })
})
