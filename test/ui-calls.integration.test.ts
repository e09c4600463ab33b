import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { CallServerMessage } from '../src/protocol/calls'
import type { ServerEvent } from '../src/protocol/events'
import type { Relay } from '../src/relay/server'
import type { RTM } from '../src/sdk'
import { CallsState } from '../src/ui/calls/calls.svelte'
import { Ringer } from '../src/ui/calls/ringer.svelte'
import { client, relayForTest, until } from './helpers'

/**
 * The Calls panel's rune state against a real relay, in Node (no camera here, so the other
 * side is a plain SDK connection speaking seed 002): what rings, what the list and the
 * status say, and the words for how a call ended.
 */
describe('calls panel state over a real relay', () => {
  let relay: Relay
  const clients: RTM[] = []
  const states: CallsState[] = []

  beforeEach(async () => { relay = await relayForTest() })
  afterEach(async () => {
    for (const state of states.splice(0)) state.destroy()
    for (const rtm of clients.splice(0)) rtm.release()
    await relay.close()
  })

  /** alice's Calls panel state, with a ringer whose sound and title we can watch. */
  async function panelFor(userId: string) {
    const rtm = await client(relay, userId)
    clients.push(rtm)
    const tone = { playing: false, start() { this.playing = true }, stop() { this.playing = false }, destroy() {} }
    const title = { notice: null as string | null, start(notice: string) { this.notice = notice }, stop() { this.notice = null } }
    const calls = new CallsState(rtm, {}, new Ringer({ tone, title, storage: null }))
    states.push(calls)
    await calls.start()
    return { calls, tone, title }
  }

  /** `userId` calls `callee` with seed 002 messages; returns the session id once it rings there. */
  async function caller(userId: string) {
    const rtm = await client(relay, userId)
    clients.push(rtm)
    const inbox: CallServerMessage[] = []
    rtm.wireHandlers.set('call', (event: ServerEvent) => { if (event.kind === 'call') inbox.push(event.msg) })
    await rtm.request('call', { cmd: 'sId' })
    return {
      inbox,
      async ring(callee: string): Promise<string> {
        await rtm.request('call', { cmd: 'session', opponentId: callee })
        await until(() => inbox.some((msg) => msg.cmd === 'ssu'))
        const created = inbox.find((msg) => msg.cmd === 'ssu') as Extract<CallServerMessage, { cmd: 'ssu' }>
        await rtm.request('call', { cmd: 'call', sessionId: created.sessionId, offer: { type: 'offer', sdp: 'v=0\r\n' } })
        return created.sessionId
      },
      stop: (sessionId: string) => rtm.request('call', { cmd: 'stop', sessionId }),
    }
  }

  it('an incoming call rings and blinks the title; the list says the caller is ringing', async () => {
    const { calls, tone, title } = await panelFor('alice')
    const bob = await caller('bob')
    await until(() => calls.people.some((person) => person.sId === 'bob'))
    expect(calls.people.find((person) => person.sId === 'bob')).toMatchObject({ state: 'WAIT', label: 'Available' })

    await bob.ring('alice')
    await until(() => calls.incoming)
    expect(calls.status).toBe('bob is calling')
    expect(calls.ringer.caller).toBe('bob')
    expect(tone.playing).toBe(true)
    expect(title.notice).toBe('📞 bob is calling…')
    expect(calls.people.find((person) => person.sId === 'bob')).toMatchObject({ state: 'WAIT', label: 'Ringing', tone: 'ringing' })
  })

  it('declining stops the ring, tells the caller, and says "You declined"', async () => {
    const { calls, tone, title } = await panelFor('alice')
    const bob = await caller('bob')
    await bob.ring('alice')
    await until(() => calls.incoming)
    await calls.reject()
    expect(calls.incoming).toBe(false)
    expect(tone.playing).toBe(false)
    expect(title.notice).toBeNull()
    expect(calls.ended).toMatchObject({ endReason: 'declined' })
    expect(calls.endedReason).toBe('You declined')
    expect(calls.endedNotice?.peer).toBe('bob')
    await until(() => bob.inbox.some((msg) => msg.cmd === 'reject'))
    calls.dismissEnded()
    expect(calls.endedNotice).toBeNull()
  })

  it('the caller giving up while it rings is a missed call, and the ring stops', async () => {
    const { calls, tone } = await panelFor('alice')
    const bob = await caller('bob')
    const sessionId = await bob.ring('alice')
    await until(() => calls.incoming)
    await bob.stop(sessionId)
    await until(() => calls.call === null)
    expect(tone.playing).toBe(false)
    expect(calls.endedReason).toBe('Missed call')
  })

  it('calling someone whose phone rings ends at once as "Busy", with no error shown', async () => {
    const { calls } = await panelFor('alice')
    const { calls: bobPanel } = await panelFor('bob')
    const carol = await caller('carol')
    await carol.ring('bob')
    await until(() => bobPanel.incoming)
    await calls.callPeer('bob')
    await until(() => calls.ended !== null)
    expect(calls.ended).toMatchObject({ peer: 'bob', endReason: 'busy' })
    expect(calls.endedReason).toBe('Busy')
    expect(calls.error).toBeNull()
    expect(bobPanel.call?.peer).toBe('carol') // still ringing from carol
  })

  it('Accept silences the ring at once; a camera that cannot open ends the call as "Call failed"', async () => {
    const { calls, tone } = await panelFor('alice')
    const bob = await caller('bob')
    await bob.ring('alice')
    await until(() => calls.incoming)
    const accepting = calls.accept()
    expect(calls.incoming).toBe(false)
    expect(tone.playing).toBe(false)
    expect(calls.status).toBe('Connecting to bob…')
    await accepting // Node has no getUserMedia
    expect(calls.error).not.toBeNull()
    expect(calls.endedReason).toBe('Call failed')
    await until(() => bob.inbox.some((msg) => msg.cmd === 'stop'))
  })
})
