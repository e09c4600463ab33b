import { describe, expect, it } from 'vitest'
import { CALL_ERRORS, DEFAULT_CALL_GRACE_MS, parseCallMessage, type CallErrorName, type CallServerMessage } from '../protocol/calls'
import { MAX_FRAME_DEPTH, MAX_OPAQUE_BYTES, MAX_OPAQUE_DEPTH } from '../protocol/bounds'
import { CLU_INTERVAL_MS } from './calls'
import { world } from './call-world'
import { Coordinator } from './coordinator'

const errorOf = (name: CallErrorName) => ({ cmd: 'error', code: CALL_ERRORS[name][0] })
const offer = { type: 'offer', sdp: 'v=0 offer' }
const answer = { type: 'answer', sdp: 'v=0 answer' }

/** alice and bob registered; alice created a session with bob (NEW). */
function twoClients() {
  const w = world()
  w.send('a', { cmd: 'sId', sId: 'alice' })
  w.send('b', { cmd: 'sId', sId: 'bob' })
  const created = w.send('a', { cmd: 'session', opponentId: 'bob' })
  const sessionId = (created.out.a[0] as { sessionId: string }).sessionId
  return { w, sessionId }
}

function ringing() {
  const { w, sessionId } = twoClients()
  w.send('a', { cmd: 'call', sessionId, offer })
  return { w, sessionId }
}

function inCall() {
  const { w, sessionId } = ringing()
  w.send('b', { cmd: 'accept', sessionId, answer })
  return { w, sessionId }
}

/** Nested arrays `depth` levels deep. */
function nested(depth: number): unknown {
  let value: unknown = 0
  for (let i = 0; i < depth; i++) value = [value]
  return value
}

describe('sId registration', () => {
  it('gives the wanted sId and sends the list to everyone with an sId', () => {
    const w = world()
    expect(w.send('a', { cmd: 'sId', sId: 'alice' }).out).toEqual({ a: [{ cmd: 'sId', sId: 'alice' }, { cmd: 'clu', list: [{ sId: 'alice', state: 1 }] }] })
    const { out } = w.send('b', { cmd: 'sId', sId: 'bob' })
    const list = [{ sId: 'alice', state: 1 }, { sId: 'bob', state: 1 }]
    expect(out).toEqual({ b: [{ cmd: 'sId', sId: 'bob' }, { cmd: 'clu', list }], a: [{ cmd: 'clu', list }] })
  })

  it('generates an sId from the host id when an anonymous client asks for none', () => {
    const w = world()
    expect(w.send('a', { cmd: 'sId' }).out.a[0]).toEqual({ cmd: 'sId', sId: 'id-1' })
  })

  it('answers a repeated request with the same sId and changes nothing', () => {
    const w = world()
    w.send('a', { cmd: 'sId', sId: 'alice' })
    expect(w.send('a', { cmd: 'sId' }).out).toEqual({ a: [{ cmd: 'sId', sId: 'alice' }] })
  })

  it('renames a client outside a session and tells everyone', () => {
    const w = world()
    w.send('a', { cmd: 'sId', sId: 'alice' })
    expect(w.send('a', { cmd: 'sId', sId: 'alicia' }).out.a).toEqual([{ cmd: 'sId', sId: 'alicia' }, { cmd: 'clu', list: [{ sId: 'alicia', state: 1 }] }])
    expect(w.calls.list()).toEqual([{ sId: 'alicia', state: 1 }])
  })

  it('refuses an sId held by another client (SID_TAKEN)', () => {
    const w = world()
    w.send('a', { cmd: 'sId', sId: 'alice' })
    const { failure, out } = w.send('b', { cmd: 'sId', sId: 'alice' })
    expect(failure?.name).toBe('SID_TAKEN')
    expect(out).toEqual({ b: [expect.objectContaining(errorOf('SID_TAKEN'))] })
  })

  it('refuses to rename during a session (BUSY)', () => {
    const { w } = twoClients()
    expect(w.send('a', { cmd: 'sId', sId: 'other' }).failure?.name).toBe('BUSY')
  })

  it('rejects an sId with spaces or over 64 characters as malformed', () => {
    const w = world()
    for (const sId of ['', 'has space', 'x'.repeat(65), 42]) expect(w.send('a', { cmd: 'sId', sId }).failure?.name).toBe('MALFORMED_FRAME')
  })
})

describe('identity: an sId equal to a userId belongs to that user', () => {
  it('a user’s sId is its userId: asking for none gives it, asking for any other is FORBIDDEN_SID', () => {
    const w = world()
    expect(w.send('a', { cmd: 'sId' }, 'alice').out.a[0]).toEqual({ cmd: 'sId', sId: 'alice' })
    expect(w.send('a', { cmd: 'sId', sId: 'alice' }, 'alice').failure).toBeNull()
    const { failure, out } = w.send('a', { cmd: 'sId', sId: 'bob' }, 'alice')
    expect(failure?.name).toBe('FORBIDDEN_SID')
    expect(out.a).toEqual([expect.objectContaining({ cmd: 'error', code: 1011 })])
    expect(w.send('b', { cmd: 'sId', sId: 'bob' }, 'carol').failure?.name).toBe('FORBIDDEN_SID') // not even before registering
    expect(w.calls.list()).toEqual([{ sId: 'alice', state: 1 }])
  })

  it('an anonymous client cannot take the userId of a logged-in user of its app', () => {
    const w = world()
    w.users.add('alice')
    const { failure, out } = w.send('squatter', { cmd: 'sId', sId: 'alice' })
    expect(failure?.name).toBe('FORBIDDEN_SID')
    expect(out).toEqual({ squatter: [expect.objectContaining({ cmd: 'error', code: CALL_ERRORS.FORBIDDEN_SID[0] })] })
    expect(w.calls.list()).toEqual([])
  })

  it('a user registering takes its userId from an anonymous holder, which gets a fresh sId and keeps its call', () => {
    const w = world()
    w.send('s', { cmd: 'sId', sId: 'alice' }) // before alice logged in
    w.send('b', { cmd: 'sId', sId: 'bob' })
    const created = w.send('s', { cmd: 'session', opponentId: 'bob' }).out.s[0] as { sessionId: string }
    w.send('s', { cmd: 'call', sessionId: created.sessionId, offer })
    w.send('b', { cmd: 'accept', sessionId: created.sessionId, answer })

    const { failure, out } = w.send('a', { cmd: 'sId' }, 'alice')
    expect(failure).toBeNull()
    expect(out.a[0]).toEqual({ cmd: 'sId', sId: 'alice' })
    const renamed = (out.s[0] as { sId: string }).sId
    expect(out.s[0]).toEqual({ cmd: 'sId', sId: expect.not.stringMatching(/^alice$/) })
    expect(w.calls.list()).toEqual([{ sId: 'bob', state: 2 }, { sId: renamed, state: 2 }, { sId: 'alice', state: 1 }])
    // The squatter's call goes on under its new name; an offer for alice now reaches alice.
    expect(w.send('s', { cmd: 'notify', opponentId: 'bob', type: 't', data: 1 }).out.b).toEqual([{ cmd: 'notify', type: 't', data: 1, sId: renamed }])
    expect(w.send('b', { cmd: 'notify', opponentId: 'alice', type: 't', data: 2 }).out).toEqual({ a: [{ cmd: 'notify', type: 't', data: 2, sId: 'bob' }] })
  })

  it('a newer connection of the same user takes the sId; the older one loses it and its call ends', () => {
    const w = world()
    w.send('a1', { cmd: 'sId' }, 'alice')
    w.send('b', { cmd: 'sId', sId: 'bob' })
    const created = w.send('a1', { cmd: 'session', opponentId: 'bob' }).out.a1[0] as { sessionId: string }
    w.send('a1', { cmd: 'call', sessionId: created.sessionId, offer })
    const { out } = w.send('a2', { cmd: 'sId' }, 'alice')
    expect(out.a2[0]).toEqual({ cmd: 'sId', sId: 'alice' })
    expect(out.a1).toEqual([expect.objectContaining({ cmd: 'error', code: CALL_ERRORS.SID_TAKEN[0] })])
    expect(out.b.slice(0, 2)).toEqual([{ cmd: 'leave', sessionId: created.sessionId }, { cmd: 'ssu', sessionId: created.sessionId, state: 4 }])
    expect(w.send('a1', { cmd: 'session', opponentId: 'bob' }).failure?.name).toBe('NO_SID')
    expect(w.calls.list()).toEqual([{ sId: 'bob', state: 1 }, { sId: 'alice', state: 1 }])
  })
})

describe('clu lists are coalesced: at most one per client per CLU_INTERVAL_MS, the latest', () => {
  const cluOf = (messages: CallServerMessage[] | undefined) => (messages ?? []).filter((m) => m.cmd === 'clu')

  it('the first change goes out at once; changes within the interval are held, and tick sends only the latest list', () => {
    const w = world({ step: 0 })
    w.send('a', { cmd: 'sId', sId: 'alice' })
    expect(cluOf(w.send('b', { cmd: 'sId', sId: 'bob' }).out.a)).toEqual([]) // alice had a list 0 ms ago
    w.send('c', { cmd: 'sId', sId: 'carol' })
    expect(w.tick(CLU_INTERVAL_MS - 1)).toEqual({})
    const flushed = w.tick(1)
    const latest = { cmd: 'clu', list: [{ sId: 'alice', state: 1 }, { sId: 'bob', state: 1 }, { sId: 'carol', state: 1 }] }
    expect(flushed).toEqual({ a: [latest], b: [latest] }) // carol's own first list already was the latest
    expect(w.tick(CLU_INTERVAL_MS)).toEqual({})
  })

  it('400 renames by one client in 2 s: every other client gets at most 5 lists, the last one current', () => {
    const w = world({ step: 0 })
    const watchers = Array.from({ length: 300 }, (_, i) => `w${i}`)
    for (const conn of watchers) w.send(conn, { cmd: 'sId', sId: conn })
    w.tick(CLU_INTERVAL_MS)
    const before = new Map(watchers.map((conn) => [conn, cluOf(w.inbox(conn)).length]))
    for (let i = 0; i < 400; i++) {
      w.send('renamer', { cmd: 'sId', sId: `name-${i}` })
      if (i % 40 === 39) w.tick(200) // 400 renames over 2 s of host ticks
    }
    w.tick(CLU_INTERVAL_MS)
    for (const conn of watchers) {
      const lists = cluOf(w.inbox(conn))
      expect(lists.length - before.get(conn)!).toBeLessThanOrEqual(5)
      expect((lists.at(-1) as Extract<CallServerMessage, { cmd: 'clu' }>).list.at(-1)).toEqual({ sId: 'name-399', state: 1 })
    }
  })

  it('a client in an ACTIVE call is not sent held lists; it gets the latest when the call ends', () => {
    const { w, sessionId } = inCall()
    w.send('c', { cmd: 'sId', sId: 'carol' })
    expect(cluOf(w.tick(CLU_INTERVAL_MS).a)).toEqual([])
    const { out } = w.send('a', { cmd: 'stop', sessionId })
    expect(cluOf(out.a)).toEqual([{ cmd: 'clu', list: [{ sId: 'alice', state: 1 }, { sId: 'bob', state: 1 }, { sId: 'carol', state: 1 }] }])
  })
})

describe('malformed frames', () => {
  it('answers anything that is not a known cmd with its fields with MALFORMED_FRAME and a reason', () => {
    const w = world()
    w.send('a', { cmd: 'sId', sId: 'alice' })
    for (const raw of [null, 'text', [], {}, { cmd: 'dance' }, { cmd: 'session' }, { cmd: 'call', sessionId: 's' }, { cmd: 'accept', sessionId: 's', answer: { type: 'bogus', sdp: '' } }]) {
      const { failure, out } = w.send('a', raw)
      expect(failure?.name).toBe('MALFORMED_FRAME')
      expect(out.a[0]).toMatchObject(errorOf('MALFORMED_FRAME'))
      expect((out.a[0] as { message: string }).message).toMatch(/^malformed frame.*\(.+\)$/)
    }
  })
})

describe('every cmd but sId needs an sId', () => {
  it.each([
    { cmd: 'session', opponentId: 'x' }, { cmd: 'call', sessionId: 's', offer: 'sdp' }, { cmd: 'accept', sessionId: 's', answer: 'sdp' },
    { cmd: 'reject', sessionId: 's' }, { cmd: 'stop', sessionId: 's' }, { cmd: 'icecandidate', sessionId: 's', icecandidate: 'c' },
    { cmd: 'notify', opponentId: 'x', type: 't', data: 1 },
  ])('$cmd without an sId → NO_SID', (raw) => {
    expect(world().send('a', raw).failure?.name).toBe('NO_SID')
  })
})

describe('session', () => {
  it('gives the creator a session in NEW; the opponent hears nothing yet', () => {
    const w = world()
    w.send('a', { cmd: 'sId', sId: 'alice' })
    w.send('b', { cmd: 'sId', sId: 'bob' })
    expect(w.send('a', { cmd: 'session', opponentId: 'bob' }).out).toEqual({ a: [{ cmd: 'ssu', sessionId: 'id-3', state: 1 }] })
  })

  it('refuses an unknown opponent and oneself', () => {
    const { w } = twoClients()
    expect(w.send('a', { cmd: 'session', opponentId: 'carol' }).failure?.name).toBe('UNKNOWN_OPPONENT')
    expect(w.send('a', { cmd: 'session', opponentId: 'alice' }).failure?.name).toBe('SELF_TARGET')
  })

  it('a second session of the same creator closes the first NEW one', () => {
    const { w, sessionId } = twoClients()
    w.send('c', { cmd: 'sId', sId: 'carol' })
    const { out } = w.send('a', { cmd: 'session', opponentId: 'carol' })
    expect(out.a).toEqual([{ cmd: 'ssu', sessionId, state: 4 }, { cmd: 'ssu', sessionId: expect.any(String), state: 1 }])
    expect(w.send('a', { cmd: 'call', sessionId, offer }).failure?.name).toBe('UNKNOWN_SESSION')
  })

  it('refuses an opponent who is ringing or in a call (OPPONENT_BUSY), and a creator in a call (BUSY)', () => {
    const { w } = ringing()
    w.send('c', { cmd: 'sId', sId: 'carol' })
    expect(w.send('c', { cmd: 'session', opponentId: 'bob' }).failure?.name).toBe('OPPONENT_BUSY')
    expect(w.send('c', { cmd: 'session', opponentId: 'alice' }).failure?.name).toBe('OPPONENT_BUSY')
    expect(w.send('a', { cmd: 'session', opponentId: 'carol' }).failure?.name).toBe('BUSY')
  })
})

describe('call', () => {
  it('sends the offer with the caller sId to the callee; both get PENDING', () => {
    const { w, sessionId } = twoClients()
    const { out } = w.send('a', { cmd: 'call', sessionId, offer })
    expect(out.b).toEqual([{ cmd: 'call', sessionId, offer, sId: 'alice' }, { cmd: 'ssu', sessionId, state: 2 }])
    expect(out.a).toEqual([{ cmd: 'ssu', sessionId, state: 2 }])
    expect(w.calls.list()).toEqual([{ sId: 'alice', state: 1 }, { sId: 'bob', state: 1 }])
  })

  it('accepts a bare SDP string as the offer', () => {
    const { w, sessionId } = twoClients()
    expect(w.send('a', { cmd: 'call', sessionId, offer: 'v=0' }).out.b[0]).toMatchObject({ offer: 'v=0' })
  })

  it('refuses a second call, a call by the callee and a call on an unknown session', () => {
    const { w, sessionId } = ringing()
    expect(w.send('a', { cmd: 'call', sessionId, offer }).failure?.name).toBe('WRONG_STATE')
    expect(w.send('b', { cmd: 'call', sessionId, offer }).failure?.name).toBe('WRONG_STATE')
    expect(w.send('a', { cmd: 'call', sessionId: 'nope', offer }).failure?.name).toBe('UNKNOWN_SESSION')
  })

  it('refuses a call when the callee started ringing elsewhere meanwhile (OPPONENT_BUSY)', () => {
    const { w, sessionId } = twoClients()
    w.send('c', { cmd: 'sId', sId: 'carol' })
    const other = w.send('c', { cmd: 'session', opponentId: 'bob' }).out.c[0] as { sessionId: string }
    w.send('c', { cmd: 'call', sessionId: other.sessionId, offer })
    expect(w.send('a', { cmd: 'call', sessionId, offer }).failure?.name).toBe('OPPONENT_BUSY')
  })

  it('a ringing call closes the callee’s own NEW session, as lost to a busy line', () => {
    const { w } = twoClients()
    w.send('c', { cmd: 'sId', sId: 'carol' })
    const bobs = w.send('b', { cmd: 'session', opponentId: 'carol' }).out.b[0] as { sessionId: string }
    const carols = w.send('c', { cmd: 'session', opponentId: 'bob' }).out.c[0] as { sessionId: string }
    const { out } = w.send('c', { cmd: 'call', sessionId: carols.sessionId, offer })
    expect(out.b).toContainEqual({ cmd: 'ssu', sessionId: bobs.sessionId, state: 4, reason: 'busy' })
  })

  it('tells a third party that it is not a party of the session', () => {
    const { w, sessionId } = twoClients()
    w.send('c', { cmd: 'sId', sId: 'carol' })
    expect(w.send('c', { cmd: 'call', sessionId, offer }).failure?.name).toBe('NOT_A_PARTY')
  })
})

describe('accept', () => {
  it('sends the answer to the caller; both get ACTIVE; both show CALLING to the others only', () => {
    const { w, sessionId } = ringing()
    w.send('c', { cmd: 'sId', sId: 'carol' })
    const { out } = w.send('b', { cmd: 'accept', sessionId, answer })
    expect(out.a).toEqual([{ cmd: 'accept', sessionId, answer }, { cmd: 'ssu', sessionId, state: 3 }])
    expect(out.b).toEqual([{ cmd: 'ssu', sessionId, state: 3 }])
    expect(out.c).toEqual([{ cmd: 'clu', list: [{ sId: 'alice', state: 2 }, { sId: 'bob', state: 2 }, { sId: 'carol', state: 1 }] }])
  })

  it('parties in a call get no list updates until it ends', () => {
    const { w } = inCall()
    const { out } = w.send('c', { cmd: 'sId', sId: 'carol' })
    expect(Object.keys(out)).toEqual(['c'])
  })

  it('refuses accept by the caller, a second accept, and accept of a NEW session the callee cannot know', () => {
    const { w, sessionId } = ringing()
    expect(w.send('a', { cmd: 'accept', sessionId, answer }).failure?.name).toBe('WRONG_STATE')
    w.send('b', { cmd: 'accept', sessionId, answer })
    expect(w.send('b', { cmd: 'accept', sessionId, answer }).failure?.name).toBe('WRONG_STATE')
    const fresh = twoClients()
    expect(fresh.w.send('b', { cmd: 'accept', sessionId: fresh.sessionId, answer }).failure?.name).toBe('UNKNOWN_SESSION')
  })
})

describe('reject', () => {
  it('the callee rejects a ringing call: caller gets reject, both CLOSED, session gone', () => {
    const { w, sessionId } = ringing()
    const { out } = w.send('b', { cmd: 'reject', sessionId })
    expect(out.a).toEqual([{ cmd: 'reject', sessionId }, { cmd: 'ssu', sessionId, state: 4 }])
    expect(out.b).toEqual([{ cmd: 'ssu', sessionId, state: 4 }])
    expect(w.calls.sessionCount).toBe(0)
    expect(w.send('b', { cmd: 'reject', sessionId }).failure?.name).toBe('UNKNOWN_SESSION')
  })

  it('refuses reject by the caller and reject of an active call', () => {
    const { w, sessionId } = ringing()
    expect(w.send('a', { cmd: 'reject', sessionId }).failure?.name).toBe('WRONG_STATE')
    w.send('b', { cmd: 'accept', sessionId, answer })
    expect(w.send('b', { cmd: 'reject', sessionId }).failure?.name).toBe('WRONG_STATE')
  })
})

describe('stop', () => {
  it('either party stops an active call: the other gets stop, both CLOSED, both back to WAIT', () => {
    const { w, sessionId } = inCall()
    const { out } = w.send('b', { cmd: 'stop', sessionId })
    const list = [{ sId: 'alice', state: 1 }, { sId: 'bob', state: 1 }]
    expect(out.a).toEqual([{ cmd: 'stop', sessionId }, { cmd: 'ssu', sessionId, state: 4 }, { cmd: 'clu', list }])
    expect(out.b).toEqual([{ cmd: 'ssu', sessionId, state: 4 }, { cmd: 'clu', list }])
  })

  it('the caller cancels a ringing call with stop', () => {
    const { w, sessionId } = ringing()
    expect(w.send('a', { cmd: 'stop', sessionId }).out.b).toEqual([{ cmd: 'stop', sessionId }, { cmd: 'ssu', sessionId, state: 4 }])
  })

  it('the creator drops a NEW session: only the creator hears of it', () => {
    const { w, sessionId } = twoClients()
    expect(w.send('a', { cmd: 'stop', sessionId }).out).toEqual({ a: [{ cmd: 'ssu', sessionId, state: 4 }] })
  })

  it('refuses stop of a closed session and by a non-party', () => {
    const { w, sessionId } = inCall()
    w.send('c', { cmd: 'sId', sId: 'carol' })
    expect(w.send('c', { cmd: 'stop', sessionId }).failure?.name).toBe('NOT_A_PARTY')
    w.send('a', { cmd: 'stop', sessionId })
    expect(w.send('a', { cmd: 'stop', sessionId }).failure?.name).toBe('UNKNOWN_SESSION')
  })
})

describe('icecandidate', () => {
  it('is forwarded to the other party, both ways, while ringing and in the call', () => {
    const { w, sessionId } = ringing()
    const icecandidate = { candidate: 'candidate:1 1 udp 2122260223 10.99.0.1 50000 typ host', sdpMid: '0', sdpMLineIndex: 0 }
    expect(w.send('a', { cmd: 'icecandidate', sessionId, icecandidate }).out).toEqual({ b: [{ cmd: 'icecandidate', sessionId, icecandidate }] })
    w.send('b', { cmd: 'accept', sessionId, answer })
    expect(w.send('b', { cmd: 'icecandidate', sessionId, icecandidate }).out).toEqual({ a: [{ cmd: 'icecandidate', sessionId, icecandidate }] })
  })

  it('is refused before the call (WRONG_STATE), from a non-party and on an unknown session', () => {
    const { w, sessionId } = twoClients()
    expect(w.send('a', { cmd: 'icecandidate', sessionId, icecandidate: 'c' }).failure?.name).toBe('WRONG_STATE')
    w.send('c', { cmd: 'sId', sId: 'carol' })
    expect(w.send('c', { cmd: 'icecandidate', sessionId, icecandidate: 'c' }).failure?.name).toBe('NOT_A_PARTY')
    expect(w.send('a', { cmd: 'icecandidate', sessionId: 'x', icecandidate: 'c' }).failure?.name).toBe('UNKNOWN_SESSION')
  })
})

describe('notify', () => {
  it('delivers type and data with the sender sId, in or out of a session', () => {
    const { w } = inCall()
    expect(w.send('a', { cmd: 'notify', opponentId: 'bob', type: 'mute', data: { audio: false } }).out).toEqual({
      b: [{ cmd: 'notify', type: 'mute', data: { audio: false }, sId: 'alice' }],
    })
  })

  it('refuses an unknown opponent and oneself', () => {
    const { w } = twoClients()
    expect(w.send('a', { cmd: 'notify', opponentId: 'zed', type: 't', data: null }).failure?.name).toBe('UNKNOWN_OPPONENT')
    expect(w.send('a', { cmd: 'notify', opponentId: 'alice', type: 't', data: null }).failure?.name).toBe('SELF_TARGET')
  })
})

describe('leave on disconnect', () => {
  it('a party dropping mid-call: the other hears nothing for the grace period, then leave and CLOSED and the list without the dropped sId', () => {
    const { w, sessionId } = inCall()
    expect(w.drop('b')).toEqual({})
    expect(w.tick(DEFAULT_CALL_GRACE_MS - 1)).toEqual({})
    expect(w.tick(1)).toEqual({ a: [{ cmd: 'leave', sessionId }, { cmd: 'ssu', sessionId, state: 4 }, { cmd: 'clu', list: [{ sId: 'alice', state: 1 }] }] })
    expect(w.calls.sessionCount).toBe(0)
  })

  it('a callee dropping while ringing ends the call for the caller', () => {
    const { w, sessionId } = ringing()
    expect(w.drop('b').a.slice(0, 2)).toEqual([{ cmd: 'leave', sessionId }, { cmd: 'ssu', sessionId, state: 4 }])
  })

  it('the opponent of a NEW session dropping closes it for its creator; the creator dropping tells no one but the list', () => {
    const first = twoClients()
    expect(first.w.drop('b').a.slice(0, 2)).toEqual([{ cmd: 'leave', sessionId: first.sessionId }, { cmd: 'ssu', sessionId: first.sessionId, state: 4 }])
    const second = twoClients()
    expect(second.w.drop('a')).toEqual({ b: [{ cmd: 'clu', list: [{ sId: 'bob', state: 1 }] }] })
    expect(second.w.calls.sessionCount).toBe(0)
  })

  it('frees the sId for the next client', () => {
    const w = world()
    w.send('a', { cmd: 'sId', sId: 'alice' })
    w.drop('a')
    expect(w.send('b', { cmd: 'sId', sId: 'alice' }).failure).toBeNull()
  })

  it('a connection without an sId leaving changes nothing', () => {
    expect(world().drop('ghost')).toEqual({})
  })
})

describe('bounds on what a frame may carry', () => {
  it('refuses notify data nested deeper than MAX_OPAQUE_DEPTH or larger than MAX_OPAQUE_BYTES, and delivers nothing', () => {
    const { w } = twoClients()
    for (const data of [nested(MAX_OPAQUE_DEPTH + 1), 'x'.repeat(MAX_OPAQUE_BYTES)]) {
      const { failure, out } = w.send('a', { cmd: 'notify', opponentId: 'bob', type: 't', data })
      expect(failure?.name).toBe('MALFORMED_FRAME')
      expect(failure?.msg.message).toMatch(/data: data (nested deeper|larger)/)
      expect(Object.keys(out)).toEqual(['a'])
    }
    expect(w.send('a', { cmd: 'notify', opponentId: 'bob', type: 't', data: nested(MAX_OPAQUE_DEPTH - 1) }).failure).toBeNull()
  })

  it('refuses a whole frame nested deeper than MAX_FRAME_DEPTH before validating it, even 100,000 deep', () => {
    for (const depth of [MAX_FRAME_DEPTH + 1, 100_000]) {
      const parsed = parseCallMessage({ cmd: 'notify', opponentId: 'bob', type: 't', data: nested(depth) })
      expect(parsed).toEqual({ ok: false, reason: expect.stringContaining(`nested deeper than ${MAX_FRAME_DEPTH}`) })
    }
  })
})

describe('through the coordinator', () => {
  const login = (coordinator: Coordinator, conn: string, appId: string, userId: string) =>
    coordinator.login(conn, { appId, userId }, { tokenExpiresAt: null, newResumeKey: `k-${conn}` }, 0)
  const sIdFrame = (sId?: string) => parseCallMessage(sId === undefined ? { cmd: 'sId' } : { cmd: 'sId', sId })

  it('a logged-in user gets their userId as sId; errors come back in the reply and as an event', () => {
    const coordinator = new Coordinator()
    login(coordinator, 'c1', 'app', 'alice')
    const ok = coordinator.call('c1', sIdFrame(), { newId: 'generated', identity: coordinator.userOf('c1') }, 0)
    expect(ok.reply).toEqual({ ok: true, result: {} })
    expect(ok.sends[0].event).toEqual({ kind: 'call', msg: { cmd: 'sId', sId: 'alice' }, timestamp: 0 })
    const bad = coordinator.call('c2', sIdFrame('alice'), { newId: 'g2', identity: { appId: 'app', userId: null } }, 0)
    const reason = `${CALL_ERRORS.SID_TAKEN[1]}`
    expect(bad.reply).toEqual({ ok: false, error: { error: true, errorCode: 1003, name: 'SID_TAKEN', reason, operation: 'call' } })
    expect(bad.sends[0]).toEqual({ to: ['c2'], event: { kind: 'call', msg: { cmd: 'error', code: 1003, message: reason }, timestamp: 0 } })
    coordinator.disconnect('c1', 0)
    expect(coordinator.callsOf('app')?.list()).toEqual([])
  })

  it('a connection without identity (a native one not logged in) is NOT_LOGIN, -10002, and nothing is registered', () => {
    const coordinator = new Coordinator()
    const handled = coordinator.call('c1', sIdFrame('guest'), { newId: 'g', identity: coordinator.userOf('c1') }, 0)
    expect(handled.reply).toMatchObject({ ok: false, error: { errorCode: -10002, name: 'NOT_LOGIN', operation: 'call' } })
    expect(handled.sends).toEqual([])
    expect(coordinator.callsOf('app')).toBeUndefined()
  })

  it('an anonymous client cannot register the userId of a user logged in to its app, but may in another app', () => {
    const coordinator = new Coordinator()
    login(coordinator, 'c1', 'app', 'alice')
    const here = coordinator.call('s1', sIdFrame('alice'), { newId: 'g1', identity: { appId: 'app', userId: null } }, 0)
    expect(here.reply).toMatchObject({ ok: false, error: { errorCode: CALL_ERRORS.FORBIDDEN_SID[0], name: 'FORBIDDEN_SID' } })
    const elsewhere = coordinator.call('s2', sIdFrame('alice'), { newId: 'g2', identity: { appId: 'other', userId: null } }, 0)
    expect(elsewhere.reply).toEqual({ ok: true, result: {} })
  })

  it('sIds live per app: the same sId in two apps, each list shows its own app, no call reaches another app', () => {
    const coordinator = new Coordinator()
    login(coordinator, 'a1', 'one', 'alice')
    login(coordinator, 'a2', 'two', 'alice')
    login(coordinator, 'b2', 'two', 'bob')
    for (const conn of ['a1', 'a2', 'b2']) coordinator.call(conn, sIdFrame(), { newId: `g-${conn}`, identity: coordinator.userOf(conn) }, 0)
    expect(coordinator.callsOf('one')?.list()).toEqual([{ sId: 'alice', state: 1 }])
    expect(coordinator.callsOf('two')?.list()).toEqual([{ sId: 'alice', state: 1 }, { sId: 'bob', state: 1 }])
    const across = coordinator.call('a1', parseCallMessage({ cmd: 'session', opponentId: 'bob' }), { newId: 's1', identity: coordinator.userOf('a1') }, 0)
    expect(across.reply).toMatchObject({ ok: false, error: { name: 'UNKNOWN_OPPONENT' } })
  })

  it('its tick sends the lists held back by the interval', () => {
    const coordinator = new Coordinator()
    const anonymous = { appId: 'app', userId: null }
    coordinator.call('x', sIdFrame('x'), { newId: 'g1', identity: anonymous }, 0)
    coordinator.call('y', sIdFrame('y'), { newId: 'g2', identity: anonymous }, 10)
    expect(coordinator.tick(100).sends).toEqual([])
    const flushed = coordinator.tick(10 + CLU_INTERVAL_MS)
    expect(flushed.sends).toEqual([{ to: ['x'], event: { kind: 'call', msg: { cmd: 'clu', list: [{ sId: 'x', state: 1 }, { sId: 'y', state: 1 }] }, timestamp: 10 + CLU_INTERVAL_MS } }])
  })

  it('drops an app’s registry once nobody uses calls there', () => {
    const coordinator = new Coordinator()
    coordinator.call('x', sIdFrame('x'), { newId: 'g1', identity: { appId: 'app', userId: null } }, 0)
    coordinator.disconnect('x', 0)
    coordinator.tick(1)
    expect(coordinator.callsOf('app')).toBeUndefined()
  })
})
