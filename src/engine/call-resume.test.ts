import { describe, expect, it } from 'vitest'
import { CALL_ERRORS, DEFAULT_CALL_GRACE_MS as GRACE, DEFAULT_RING_TIMEOUT_MS as RING, parseCallMessage, type CallErrorName, type CallServerMessage } from '../protocol/calls'
import { DEFAULT_ENGINE_CONFIG } from './app-engine'
import { CLU_INTERVAL_MS } from './calls'
import { world } from './call-world'
import { Coordinator } from './coordinator'
import type { Output } from './effects'

/**
 * Issue 12 in the engine, with a fake clock: ACTIVE calls outlive a dropped link for the
 * grace period and are claimed back (also on a restarted coordinator), calls ring out,
 * glare has one winner, and an ACTIVE session can be renegotiated (ICE restart).
 * Connections are named `<user><n>`: a1 and a2 are two connections of alice.
 */

const offer = { type: 'offer', sdp: 'v=0 offer' }
const answer = { type: 'answer', sdp: 'v=0 answer' }
const restartOffer = { type: 'offer', sdp: 'v=0 ice restart' }
const restartAnswer = { type: 'answer', sdp: 'v=0 ice restart answer' }
const candidate = { candidate: 'candidate:1 1 udp 1 10.0.0.1 5000 typ host', sdpMid: '0', sdpMLineIndex: 0 }
const errorOf = (name: CallErrorName) => expect.objectContaining({ cmd: 'error', code: CALL_ERRORS[name][0] })
const userOf = (conn: string) => ({ a: 'alice', b: 'bob', c: 'carol', d: 'dave', m: 'mallory' })[conn[0]] ?? null

/** A world where every connection is its user's (the first letter names it) and registered. */
function users(...conns: string[]) {
  const w = world()
  const send = (conn: string, raw: unknown) => w.send(conn, raw, userOf(conn))
  for (const conn of conns) send(conn, { cmd: 'sId' })
  return { w, send }
}

/** alice (a1) called bob (b1), who answered: ACTIVE. */
function activeCall(...others: string[]) {
  const { w, send } = users('a1', 'b1', ...others)
  const { sessionId } = send('a1', { cmd: 'session', opponentId: 'bob' }).out.a1[0] as { sessionId: string }
  send('a1', { cmd: 'call', sessionId, offer })
  send('b1', { cmd: 'accept', sessionId, answer })
  return { w, send, sessionId }
}

const claimOf = (sessionId: string, opponentId: string) => ({ cmd: 'claim', sessionId, opponentId })
const withoutLists = (messages: CallServerMessage[] = []) => messages.filter((msg) => msg.cmd !== 'clu')
const closed = (sessionId: string) => ({ cmd: 'ssu', sessionId, state: 4 })

describe('grace: an ACTIVE call outlives a dropped link', () => {
  it('the other party hears nothing within the grace; the dropped party claims the call from its new connection: re-bound, ACTIVE to both', () => {
    const { w, send, sessionId } = activeCall()
    expect(w.drop('b1')).toEqual({})
    expect(w.tick(GRACE - 1)).toEqual({})
    send('b2', { cmd: 'sId' })
    const { failure, out } = send('b2', claimOf(sessionId, 'alice'))
    expect(failure).toBeNull()
    expect(out).toEqual({ a1: [{ cmd: 'ssu', sessionId, state: 3 }], b2: [{ cmd: 'ssu', sessionId, state: 3 }] })
    // The call goes on with the new connection, past the grace.
    expect(w.tick(GRACE)).toEqual({})
    expect(send('a1', { cmd: 'icecandidate', sessionId, icecandidate: candidate }).out).toEqual({ b2: [{ cmd: 'icecandidate', sessionId, icecandidate: candidate }] })
    expect(w.calls.list()).toEqual([{ sId: 'alice', state: 2 }, { sId: 'bob', state: 2 }])
    expect(send('b2', { cmd: 'stop', sessionId }).out.a1).toEqual([{ cmd: 'stop', sessionId }, closed(sessionId), expect.objectContaining({ cmd: 'clu' })])
  })

  it('nobody claims: leave and CLOSED reach the other party when the grace ends, and a late claim within the next grace is told leave', () => {
    const { w, send, sessionId } = activeCall()
    w.drop('b1')
    expect(w.tick(GRACE - 1)).toEqual({})
    expect(w.tick(1)).toEqual({ a1: [{ cmd: 'leave', sessionId }, closed(sessionId), { cmd: 'clu', list: [{ sId: 'alice', state: 1 }] }] })
    send('b2', { cmd: 'sId' })
    expect(send('b2', claimOf(sessionId, 'alice')).out.b2).toEqual([{ cmd: 'leave', sessionId }, closed(sessionId)])
    expect(w.calls.sessionCount).toBe(0)
  })

  it('a claim after twice the grace finds nothing: it waits as a lone claim and ends with leave one grace later', () => {
    const { w, send, sessionId } = activeCall()
    w.drop('b1')
    w.tick(GRACE)
    w.tick(GRACE)
    send('b2', { cmd: 'sId' })
    expect(send('b2', claimOf(sessionId, 'alice')).out).toEqual({})
    expect(w.tick(GRACE - 1)).toEqual({})
    expect(w.tick(1)).toEqual({ b2: [{ cmd: 'leave', sessionId }, closed(sessionId)] })
  })

  it('the other party hangs up while one is away: the away party learns of the stop when it claims', () => {
    const { w, send, sessionId } = activeCall()
    w.drop('b1')
    expect(send('a1', { cmd: 'stop', sessionId }).out.a1?.[0]).toEqual(closed(sessionId))
    send('b2', { cmd: 'sId' })
    expect(send('b2', claimOf(sessionId, 'alice')).out.b2).toEqual([{ cmd: 'stop', sessionId }, closed(sessionId)])
  })

  it('while away the user is still in a call: once re-registered, calling them is OPPONENT_BUSY and they cannot start another call until they claim', () => {
    const { w, send, sessionId } = activeCall('c1')
    w.drop('b1')
    expect(send('c1', { cmd: 'session', opponentId: 'bob' }).failure?.name).toBe('UNKNOWN_OPPONENT')
    send('b2', { cmd: 'sId' })
    expect(send('c1', { cmd: 'session', opponentId: 'bob' }).failure?.name).toBe('OPPONENT_BUSY')
    expect(send('b2', { cmd: 'session', opponentId: 'carol' }).failure?.name).toBe('BUSY')
    send('b2', claimOf(sessionId, 'alice'))
    expect(send('c1', { cmd: 'session', opponentId: 'bob' }).failure?.name).toBe('OPPONENT_BUSY')
  })

  it('a newer connection of the same user, before the old link is seen to close: the old one loses the sId and the call waits for the claim', () => {
    const { w, send, sessionId } = activeCall()
    const { out } = send('b2', { cmd: 'sId' })
    expect(out.b1).toEqual([errorOf('SID_TAKEN')])
    expect(out.a1).toBeUndefined() // no leave
    expect(send('b2', claimOf(sessionId, 'alice')).out.b2).toEqual([{ cmd: 'ssu', sessionId, state: 3 }])
    expect(w.drop('b1')).toEqual({}) // the old link closing later changes nothing
    expect(send('b1', { cmd: 'icecandidate', sessionId, icecandidate: candidate }).failure?.name).toBe('NO_SID')
  })

  it('both parties dropped: each claims back its side; the first re-bind tells only the one back', () => {
    const { w, send, sessionId } = activeCall()
    w.drop('a1')
    w.drop('b1')
    send('a2', { cmd: 'sId' })
    expect(send('a2', claimOf(sessionId, 'bob')).out).toEqual({ a2: [{ cmd: 'ssu', sessionId, state: 3 }] })
    send('b2', { cmd: 'sId' })
    expect(send('b2', claimOf(sessionId, 'alice')).out).toEqual({ a2: [{ cmd: 'ssu', sessionId, state: 3 }], b2: [{ cmd: 'ssu', sessionId, state: 3 }] })
    expect(w.tick(2 * GRACE)).toEqual({})
  })

  it('a ringing call does not wait: a party dropping while PENDING ends it with leave at once', () => {
    const { w, send } = users('a1', 'b1')
    const { sessionId } = send('a1', { cmd: 'session', opponentId: 'bob' }).out.a1[0] as { sessionId: string }
    send('a1', { cmd: 'call', sessionId, offer })
    expect(w.drop('b1').a1.slice(0, 2)).toEqual([{ cmd: 'leave', sessionId }, closed(sessionId)])
  })

  it('a logout is no dropped link: the call ends with leave at once', () => {
    const { w, sessionId } = activeCall()
    expect(w.drop('b1', true).a1.slice(0, 2)).toEqual([{ cmd: 'leave', sessionId }, closed(sessionId)])
    expect(w.tick(GRACE).a1?.map((msg) => msg.cmd)).toEqual(['clu']) // the list held back by the interval, nothing more
  })
})

describe('re-bind on a restarted coordinator: both parties claim the session it never saw', () => {
  it('the two claims, naming each other, recreate it ACTIVE: ssu 3 to both, both CALLING, and the call works', () => {
    const { w, send } = users('a1', 'b1', 'c1')
    expect(send('a1', claimOf('lost-session', 'bob')).out).toEqual({})
    expect(send('b1', claimOf('lost-session', 'alice')).out).toEqual({
      a1: [{ cmd: 'ssu', sessionId: 'lost-session', state: 3 }],
      b1: [{ cmd: 'ssu', sessionId: 'lost-session', state: 3 }],
      c1: [{ cmd: 'clu', list: [{ sId: 'alice', state: 2 }, { sId: 'bob', state: 2 }, { sId: 'carol', state: 1 }] }],
    })
    expect(send('b1', { cmd: 'icecandidate', sessionId: 'lost-session', icecandidate: candidate }).out.a1).toHaveLength(1)
    expect(send('c1', { cmd: 'session', opponentId: 'alice' }).failure?.name).toBe('OPPONENT_BUSY')
    expect(w.tick(2 * GRACE)).toEqual({})
    expect(send('a1', { cmd: 'stop', sessionId: 'lost-session' }).out.b1?.[0]).toEqual({ cmd: 'stop', sessionId: 'lost-session' })
  })

  it('a lone claim ends with leave and CLOSED after the grace; the claimant counts as busy meanwhile', () => {
    const { w, send } = users('a1', 'c1')
    send('a1', claimOf('lost-session', 'bob'))
    expect(send('c1', { cmd: 'session', opponentId: 'alice' }).failure?.name).toBe('OPPONENT_BUSY')
    expect(w.tick(GRACE - 1 - STEP)).toEqual({})
    expect(w.tick(1)).toEqual({ a1: [{ cmd: 'leave', sessionId: 'lost-session' }, closed('lost-session')] })
    expect(send('c1', { cmd: 'session', opponentId: 'alice' }).failure).toBeNull()
  })

  it('a repeated lone claim keeps its time; a claim of another session replaces it', () => {
    const { w, send } = users('a1')
    send('a1', claimOf('one', 'bob'))
    w.tick(GRACE / 2)
    send('a1', claimOf('one', 'bob'))
    expect(w.tick(GRACE / 2 - STEP)).toEqual({ a1: [{ cmd: 'leave', sessionId: 'one' }, closed('one')] })
    send('a1', claimOf('two', 'bob'))
    send('a1', claimOf('three', 'bob'))
    expect(w.tick(GRACE).a1).toEqual([{ cmd: 'leave', sessionId: 'three' }, closed('three')])
  })

  it('claims must mirror each other: a third user naming alice completes nothing, nor bob naming someone else; bob naming alice does', () => {
    const { w, send } = users('a1', 'b1', 'c1')
    send('a1', claimOf('lost-session', 'bob'))
    expect(send('c1', claimOf('lost-session', 'alice')).out).toEqual({})
    expect(send('b1', claimOf('lost-session', 'carol')).out).toEqual({})
    expect(send('b1', claimOf('lost-session', 'alice')).out.a1).toEqual([{ cmd: 'ssu', sessionId: 'lost-session', state: 3 }])
    expect(w.tick(GRACE).c1).toEqual([{ cmd: 'leave', sessionId: 'lost-session' }, closed('lost-session')])
  })
})

describe('a claim cannot take or probe someone else’s session', () => {
  it('another user claiming an ACTIVE session whose party is away is answered as for an unknown id; the away party still gets it back', () => {
    const { w, send, sessionId } = activeCall('m1')
    w.drop('b1')
    const before = w.inbox('a1').length
    const unknown = send('m1', claimOf('no-such-session', 'alice'))
    const probe = send('m1', claimOf(sessionId, 'alice'))
    expect([unknown.failure, unknown.out]).toEqual([null, {}])
    expect([probe.failure, probe.out]).toEqual([null, {}])
    send('b2', { cmd: 'sId' })
    expect(send('b2', claimOf(sessionId, 'alice')).out.b2).toEqual([{ cmd: 'ssu', sessionId, state: 3 }])
    // mallory's claim ends as any lone claim does; alice never heard of it.
    expect(w.tick(GRACE)).toEqual({ m1: [{ cmd: 'leave', sessionId }, closed(sessionId)] })
    expect(w.inbox('a1').slice(before)).toEqual([{ cmd: 'ssu', sessionId, state: 3 }])
  })

  it('a session id in use is never recreated, even by two users claiming it for each other', () => {
    const { w, send, sessionId } = activeCall('m1', 'd1')
    w.drop('b1')
    send('m1', claimOf(sessionId, 'dave'))
    expect(send('d1', claimOf(sessionId, 'mallory')).out).toEqual({})
    expect(w.calls.sessionCount).toBe(1)
    const ended = w.tick(GRACE)
    for (const conn of ['a1', 'm1', 'd1']) expect(withoutLists(ended[conn]), conn).toEqual([{ cmd: 'leave', sessionId }, closed(sessionId)])
  })

  it('identity is the connection’s: an anonymous client cannot take the away user’s sId (FORBIDDEN_SID), and under another sId its claim is a lone one', () => {
    const { w, sessionId } = activeCall()
    w.users.add('bob')
    w.drop('b1')
    expect(w.send('x', { cmd: 'sId', sId: 'bob' }).failure?.name).toBe('FORBIDDEN_SID')
    w.send('x', { cmd: 'sId', sId: 'robert' })
    expect(w.send('x', claimOf(sessionId, 'alice')).out).toEqual({})
    expect(withoutLists(w.tick(GRACE).x)).toEqual([{ cmd: 'leave', sessionId }, closed(sessionId)])
  })

  it('bad claims get the call error codes and change nothing', () => {
    const { w, send, sessionId } = activeCall('c1', 'd1')
    expect(w.send('stranger', claimOf(sessionId, 'alice')).failure?.name).toBe('NO_SID')
    const malformed = [
      { cmd: 'claim', sessionId }, { cmd: 'claim', sessionId, opponentId: 'has space' }, { cmd: 'claim', sessionId, opponentId: 'x'.repeat(65) },
      { cmd: 'claim', sessionId: 'x'.repeat(129), opponentId: 'bob' }, { cmd: 'claim', sessionId: 7, opponentId: 'bob' }, { cmd: 'claim', sessionId: '', opponentId: 'bob' },
    ]
    for (const frame of malformed) expect(send('c1', frame).failure?.name, JSON.stringify(frame)).toBe('MALFORMED_FRAME')
    expect(send('c1', claimOf('some-session', 'carol')).failure?.name).toBe('SELF_TARGET')
    expect(send('a1', claimOf('another-session', 'carol')).failure?.name).toBe('BUSY')
    const mine = send('c1', { cmd: 'session', opponentId: 'dave' }).out.c1[0] as { sessionId: string }
    expect(send('c1', claimOf(mine.sessionId, 'dave')).failure?.name).toBe('WRONG_STATE')
    // A party repeating the claim of its bound call gets its state again, nothing else.
    expect(send('a1', claimOf(sessionId, 'bob')).out).toEqual({ a1: [{ cmd: 'ssu', sessionId, state: 3 }] })
    expect(w.tick(2 * GRACE)).toEqual({})
  })
})

describe('ring timeout', () => {
  it(`a call unanswered for ${RING / 1000} s is closed for both: stop and CLOSED with reason no-answer`, () => {
    const { w, send } = users('a1', 'b1')
    const { sessionId } = send('a1', { cmd: 'session', opponentId: 'bob' }).out.a1[0] as { sessionId: string }
    send('a1', { cmd: 'call', sessionId, offer })
    expect(w.tick(RING - 1)).toEqual({})
    const noAnswer = [{ cmd: 'stop', sessionId, reason: 'no-answer' }, { cmd: 'ssu', sessionId, state: 4, reason: 'no-answer' }]
    expect(w.tick(1)).toEqual({ a1: noAnswer, b1: noAnswer })
    expect(send('b1', { cmd: 'accept', sessionId, answer }).failure?.name).toBe('UNKNOWN_SESSION')
    expect(send('b1', { cmd: 'session', opponentId: 'alice' }).failure).toBeNull()
  })

  it('a call answered in time is not rung out', () => {
    const { w, send } = users('a1', 'b1')
    const { sessionId } = send('a1', { cmd: 'session', opponentId: 'bob' }).out.a1[0] as { sessionId: string }
    send('a1', { cmd: 'call', sessionId, offer })
    w.tick(RING - 2 * STEP)
    send('b1', { cmd: 'accept', sessionId, answer })
    expect(w.tick(RING)).toEqual({})
    expect(w.calls.list()).toEqual([{ sId: 'alice', state: 2 }, { sId: 'bob', state: 2 }])
  })

  it('the engine config sets both timers', () => {
    const coordinator = new Coordinator({ ...DEFAULT_ENGINE_CONFIG, callRingTimeoutMs: 1000, callGraceMs: 2000 })
    const say = (conn: string, userId: string, msg: unknown, now: number) => coordinator.call(conn, parseCallMessage(msg), { newId: `s-${now}`, identity: { appId: 'app', userId } }, now)
    const cmds = (output: Output) => output.sends.flatMap(({ event }) => event.kind === 'call' && event.msg.cmd !== 'clu' ? [event.msg.cmd] : [])
    say('a', 'alice', { cmd: 'sId' }, 0)
    say('b', 'bob', { cmd: 'sId' }, 0)
    say('a', 'alice', { cmd: 'session', opponentId: 'bob' }, 0)
    say('a', 'alice', { cmd: 'call', sessionId: 's-0', offer }, 10)
    expect(cmds(coordinator.tick(1009))).toEqual([])
    expect(cmds(coordinator.tick(1010))).toContain('stop')
    say('a', 'alice', { cmd: 'session', opponentId: 'bob' }, 2000)
    say('a', 'alice', { cmd: 'call', sessionId: 's-2000', offer }, 2000)
    say('b', 'bob', { cmd: 'accept', sessionId: 's-2000', answer }, 2000)
    coordinator.disconnect('b', 2000)
    expect(cmds(coordinator.tick(3999))).toEqual([])
    expect(cmds(coordinator.tick(4000))).toEqual(['leave', 'ssu'])
  })
})

describe('glare: both call each other at once', () => {
  it('both created sessions: the first call to ring wins; the other’s NEW session closes as busy before the winning call rings it', () => {
    const { send } = users('a1', 'b1')
    const alices = send('a1', { cmd: 'session', opponentId: 'bob' }).out.a1[0] as { sessionId: string }
    const bobs = send('b1', { cmd: 'session', opponentId: 'alice' }).out.b1[0] as { sessionId: string }
    const { out } = send('a1', { cmd: 'call', sessionId: alices.sessionId, offer })
    expect(out.b1.slice(0, 2)).toEqual([
      { cmd: 'ssu', sessionId: bobs.sessionId, state: 4, reason: 'busy' },
      { cmd: 'call', sessionId: alices.sessionId, offer, sId: 'alice' },
    ])
    expect(send('b1', { cmd: 'call', sessionId: bobs.sessionId, offer }).failure?.name).toBe('UNKNOWN_SESSION')
    expect(send('b1', { cmd: 'accept', sessionId: alices.sessionId, answer }).failure).toBeNull()
  })

  it('a session asked for while another call already rings us is BUSY; calling someone in a call is OPPONENT_BUSY', () => {
    const { send } = activeCall('c1', 'd1')
    expect(send('c1', { cmd: 'session', opponentId: 'alice' }).failure?.name).toBe('OPPONENT_BUSY')
    const carols = send('c1', { cmd: 'session', opponentId: 'dave' }).out.c1[0] as { sessionId: string }
    send('c1', { cmd: 'call', sessionId: carols.sessionId, offer })
    expect(send('d1', { cmd: 'session', opponentId: 'carol' }).failure?.name).toBe('BUSY')
  })
})

describe('renegotiation of an ACTIVE session (ICE restart)', () => {
  it('a party’s call on the ACTIVE session reaches the other as call; its accept returns as accept; the state stays ACTIVE', () => {
    const { w, send, sessionId } = activeCall()
    expect(send('a1', { cmd: 'call', sessionId, offer: restartOffer }).out).toEqual({ b1: [{ cmd: 'call', sessionId, offer: restartOffer, sId: 'alice' }] })
    expect(send('b1', { cmd: 'accept', sessionId, answer: restartAnswer }).out).toEqual({ a1: [{ cmd: 'accept', sessionId, answer: restartAnswer }] })
    // The callee may offer too; the caller answers.
    expect(send('b1', { cmd: 'call', sessionId, offer: restartOffer }).out.a1).toHaveLength(1)
    expect(send('a1', { cmd: 'accept', sessionId, answer: restartAnswer }).out.b1).toEqual([{ cmd: 'accept', sessionId, answer: restartAnswer }])
    expect(w.calls.list()).toEqual([{ sId: 'alice', state: 2 }, { sId: 'bob', state: 2 }])
  })

  it('one offer at a time: accept needs the other party’s offer, and the other party cannot offer over it; the offerer may offer again', () => {
    const { send, sessionId } = activeCall()
    expect(send('b1', { cmd: 'accept', sessionId, answer: restartAnswer }).failure?.name).toBe('WRONG_STATE')
    send('a1', { cmd: 'call', sessionId, offer: restartOffer })
    expect(send('a1', { cmd: 'accept', sessionId, answer: restartAnswer }).failure?.name).toBe('WRONG_STATE')
    expect(send('b1', { cmd: 'call', sessionId, offer: restartOffer }).failure?.name).toBe('WRONG_STATE')
    expect(send('a1', { cmd: 'call', sessionId, offer: restartOffer }).failure).toBeNull()
    expect(send('b1', { cmd: 'accept', sessionId, answer: restartAnswer }).failure).toBeNull()
    expect(send('b1', { cmd: 'accept', sessionId, answer: restartAnswer }).failure?.name).toBe('WRONG_STATE')
  })

  it('only the parties, only in ACTIVE: a third client is NOT_A_PARTY, a second call while ringing is WRONG_STATE', () => {
    const { send, sessionId } = activeCall('c1')
    expect(send('c1', { cmd: 'call', sessionId, offer: restartOffer }).failure?.name).toBe('NOT_A_PARTY')
    expect(send('c1', { cmd: 'accept', sessionId, answer: restartAnswer }).failure?.name).toBe('NOT_A_PARTY')
    const ringing = users('a1', 'b1')
    const { sessionId: pending } = ringing.send('a1', { cmd: 'session', opponentId: 'bob' }).out.a1[0] as { sessionId: string }
    ringing.send('a1', { cmd: 'call', sessionId: pending, offer })
    expect(ringing.send('a1', { cmd: 'call', sessionId: pending, offer }).failure?.name).toBe('WRONG_STATE')
    expect(ringing.send('b1', { cmd: 'call', sessionId: pending, offer }).failure?.name).toBe('WRONG_STATE')
  })

  it('an offer lost to an away party is forgotten at the re-bind: the re-bound party may offer', () => {
    const { w, send, sessionId } = activeCall()
    w.drop('b1')
    expect(send('a1', { cmd: 'call', sessionId, offer: restartOffer }).out).toEqual({})
    send('b2', { cmd: 'sId' })
    send('b2', claimOf(sessionId, 'alice'))
    expect(send('b2', { cmd: 'call', sessionId, offer: restartOffer }).out.a1).toEqual([{ cmd: 'call', sessionId, offer: restartOffer, sId: 'bob' }])
  })
})

describe('through the coordinator', () => {
  it('a logout ends the call at once; a dropped connection waits for the grace', () => {
    const coordinator = new Coordinator()
    const login = (conn: string, userId: string) => coordinator.login(conn, { appId: 'app', userId }, { tokenExpiresAt: null, newResumeKey: `key-${conn}-0123456789` }, 0)
    const say = (conn: string, msg: unknown) => coordinator.call(conn, parseCallMessage(msg), { newId: `session-${conn}`, identity: coordinator.userOf(conn) }, 0)
    const callsTo = (output: Output, conn: string) => output.sends.flatMap(({ to, event }) => to.includes(conn) && event.kind === 'call' ? [event.msg.cmd] : [])
    for (const [conn, userId] of [['a', 'alice'], ['b', 'bob'], ['c', 'carol'], ['d', 'dave']]) {
      login(conn, userId)
      say(conn, { cmd: 'sId' })
    }
    for (const [caller, callee] of [['a', 'bob'], ['c', 'dave']]) {
      say(caller, { cmd: 'session', opponentId: callee })
      say(caller, { cmd: 'call', sessionId: `session-${caller}`, offer })
      say(callee[0], { cmd: 'accept', sessionId: `session-${caller}`, answer })
    }
    expect(callsTo(coordinator.disconnect('b', 1), 'a')).toEqual([])
    expect(callsTo(coordinator.handle('d', 1, { op: 'logout', args: {} }, 2), 'c')).toEqual(['leave', 'ssu'])
  })
})

/** The world's default step between frames (CLU_INTERVAL_MS): each frame moves the clock by it. */
const STEP = CLU_INTERVAL_MS
