import { describe, expect, it } from 'vitest'
import { CALL_ERRORS, parseCallMessage, type CallErrorName, type CallServerMessage } from '../protocol/calls'
import { Calls } from './calls'
import { Coordinator } from './coordinator'
import { Effects } from './effects'

/** A fake world: one Calls registry, connections by name, every call message each one received. */
function world() {
  const calls = new Calls()
  const inbox = new Map<string, CallServerMessage[]>()
  let nextId = 1
  const record = (fx: Effects) => {
    for (const { to, event } of fx.sends) {
      if (event.kind !== 'call') throw new Error(`unexpected event ${event.kind}`)
      for (const conn of to) inbox.set(conn, [...(inbox.get(conn) ?? []), event.msg])
    }
  }
  return {
    calls,
    /** Sends a raw frame; returns only what this frame caused, per connection. */
    send(conn: string, raw: unknown, preferredSId?: string) {
      const fx = new Effects()
      const failure = calls.handle(conn, parseCallMessage(raw), { newId: `id-${nextId++}`, preferredSId }, fx, 1000)
      record(fx)
      return { failure, out: byConn(fx) }
    },
    drop(conn: string) {
      const fx = new Effects()
      calls.disconnect(conn, fx, 1000)
      record(fx)
      return byConn(fx)
    },
    inbox(conn: string) { return inbox.get(conn) ?? [] },
    last(conn: string) { return this.inbox(conn).at(-1) },
  }
}

function byConn(fx: Effects): Record<string, CallServerMessage[]> {
  const out: Record<string, CallServerMessage[]> = {}
  for (const { to, event } of fx.sends) for (const conn of to) if (event.kind === 'call') (out[conn] ??= []).push(event.msg)
  return out
}

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

describe('sId registration', () => {
  it('gives the wanted sId and sends the list to everyone with an sId', () => {
    const w = world()
    expect(w.send('a', { cmd: 'sId', sId: 'alice' }).out).toEqual({ a: [{ cmd: 'sId', sId: 'alice' }, { cmd: 'clu', list: [{ sId: 'alice', state: 1 }] }] })
    const { out } = w.send('b', { cmd: 'sId', sId: 'bob' })
    const list = [{ sId: 'alice', state: 1 }, { sId: 'bob', state: 1 }]
    expect(out).toEqual({ b: [{ cmd: 'sId', sId: 'bob' }, { cmd: 'clu', list }], a: [{ cmd: 'clu', list }] })
  })

  it('generates an sId from the host id when none is asked for', () => {
    const w = world()
    expect(w.send('a', { cmd: 'sId' }).out.a[0]).toEqual({ cmd: 'sId', sId: 'id-1' })
  })

  it('prefers the host-suggested sId (a logged-in userId) when it is free', () => {
    const w = world()
    expect(w.send('a', { cmd: 'sId' }, 'alice').out.a[0]).toEqual({ cmd: 'sId', sId: 'alice' })
    expect(w.send('b', { cmd: 'sId' }, 'alice').out.b[0]).toEqual({ cmd: 'sId', sId: 'id-2' })
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

  it('a ringing call closes the callee’s own NEW session', () => {
    const { w } = twoClients()
    w.send('c', { cmd: 'sId', sId: 'carol' })
    const bobs = w.send('b', { cmd: 'session', opponentId: 'carol' }).out.b[0] as { sessionId: string }
    const carols = w.send('c', { cmd: 'session', opponentId: 'bob' }).out.c[0] as { sessionId: string }
    const { out } = w.send('c', { cmd: 'call', sessionId: carols.sessionId, offer })
    expect(out.b).toContainEqual({ cmd: 'ssu', sessionId: bobs.sessionId, state: 4 })
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
  it('a party dropping mid-call: the other gets leave and CLOSED, then the list without the dropped sId', () => {
    const { w, sessionId } = inCall()
    expect(w.drop('b')).toEqual({ a: [{ cmd: 'leave', sessionId }, { cmd: 'ssu', sessionId, state: 4 }, { cmd: 'clu', list: [{ sId: 'alice', state: 1 }] }] })
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

describe('through the coordinator', () => {
  it('a logged-in user gets their userId as sId; errors come back in the reply and as an event', () => {
    const coordinator = new Coordinator()
    coordinator.login('c1', { appId: 'app', userId: 'alice' }, { tokenExpiresAt: null, newResumeKey: 'k' }, 0)
    const ok = coordinator.call('c1', parseCallMessage({ cmd: 'sId' }), { newId: 'generated' }, 0)
    expect(ok.reply).toEqual({ ok: true, result: {} })
    expect(ok.sends[0].event).toEqual({ kind: 'call', msg: { cmd: 'sId', sId: 'alice' }, timestamp: 0 })
    const bad = coordinator.call('c2', parseCallMessage({ cmd: 'sId', sId: 'alice' }), { newId: 'g2' }, 0)
    expect(bad.reply).toEqual({ ok: false, error: { error: true, errorCode: 1003, name: 'SID_TAKEN', reason: CALL_ERRORS.SID_TAKEN[1], operation: 'call' } })
    expect(bad.sends[0]).toEqual({ to: ['c2'], event: { kind: 'call', msg: { cmd: 'error', code: 1003, message: CALL_ERRORS.SID_TAKEN[1] }, timestamp: 0 } })
    coordinator.disconnect('c1', 0)
    expect(coordinator.calls.list()).toEqual([])
  })
})
