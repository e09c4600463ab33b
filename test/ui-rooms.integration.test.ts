import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { roomLink } from '../src/ui/rooms/room-words'
import { RoomsState } from '../src/ui/rooms/rooms.svelte'
import { SpeakerDetector } from '../src/ui/rooms/speaker.svelte'
import { installFakeWebRTC } from './fake-webrtc'
import { relayPerTest, until } from './helpers'

/**
 * The Rooms panel's rune state against a real relay, in Node (test/fake-webrtc.ts stands in
 * for the camera and peer connections; the signaling is all real): the lobby, roles, raised
 * hands, mutes, kicks, and refusals in words. What only a browser shows is in e2e/rooms.spec.ts.
 */
/** An audio context whose analysers hear nothing. */
const silentAudio = () => ({
  state: 'running',
  createMediaStreamSource: () => ({ connect() {}, disconnect() {} }),
  createAnalyser: () => ({ fftSize: 0, getFloatTimeDomainData(array: Float32Array) { array.fill(0) } }),
  resume: async () => {},
  close: async () => {},
})

let uninstall: () => void
beforeAll(() => { uninstall = installFakeWebRTC() })
afterAll(() => uninstall())

describe('rooms panel state over a real relay', () => {
  const relay = relayPerTest()
  const states: RoomsState[] = []
  afterEach(() => { for (const state of states.splice(0)) state.destroy() })

  /** `userId`'s Rooms panel state; `link` as if the page was opened from a room link. */
  async function panelFor(userId: string, link?: string) {
    const rtm = await relay.join(userId)
    const search = link ? new URL(link).search : ''
    // No Web Audio in Node: the speaker highlight measures silence.
    const speakers = new SpeakerDetector({ createContext: silentAudio })
    const state = new RoomsState(rtm, { mode: 'relay', search, page: () => 'http://127.0.0.1:5173/?user=' + userId, speakers })
    states.push(state)
    return state
  }

  async function hostOf(type: 'a2m' | 'm2m' | 'p2m' | 'p2p') {
    const host = await panelFor('host')
    host.form.createType = type
    await host.create()
    expect(host.problem).toBeNull()
    return { host, link: host.link! }
  }

  it('the creator is the host and gets a link to the room; opening it fills the join form in', async () => {
    const { host, link } = await hostOf('a2m')
    expect(host.roomState).toBe('joined')
    expect(host.role).toBe('admin')
    expect(host.isAdmin).toBe(true)
    expect(link).toBe(roomLink('http://127.0.0.1:5173/', { rid: host.rid!, type: 'a2m' }, { appId: 'test', mode: 'relay' }))

    const guest = await panelFor('guest', link)
    expect(guest.form.fromLink).toBe(true)
    expect(guest.form.joinTarget).toEqual({ rid: host.rid, type: 'a2m' })
    await guest.join()
    expect(guest.problem).toBeNull()
    expect(guest.role).toBe('viewer')
    await until(() => host.members.length === 2)
    expect(host.members.map((m) => [m.userId, m.role])).toEqual([['host', 'admin'], ['guest', 'viewer']])
  })

  it('a viewer raises a hand: pending, the host sees it, lets them speak, and they publish', async () => {
    const { host, link } = await hostOf('a2m')
    const guest = await panelFor('guest', link)
    await guest.join()
    await guest.raiseHand()
    expect(guest.hand).toBe('pending')
    await until(() => host.hands.length === 1)
    expect(host.hands[0]).toMatchObject({ name: 'guest', session: { userId: 'guest' } })

    await host.accept(host.hands[0]!)
    expect(host.hands).toEqual([])
    await until(() => guest.role === 'publisher')
    expect(guest.hand).toBe('accepted')
    expect(guest.publishes).toBe(true)
    await until(() => host.tiles.some((tile) => tile.member.userId === 'guest'))
  })

  it('a declined hand says so and may be raised again', async () => {
    const { host, link } = await hostOf('a2m')
    const guest = await panelFor('guest', link)
    await guest.join()
    await guest.raiseHand()
    await until(() => host.hands.length === 1)
    await host.reject(host.hands[0]!)
    await until(() => guest.hand === 'rejected')
    expect(guest.role).toBe('viewer')
    await guest.raiseHand()
    expect(guest.hand).toBe('pending')
    await until(() => host.hands.length === 1)
  })

  it('muting sends UPDATE: every member’s list shows the microphone off', async () => {
    const { host, link } = await hostOf('m2m')
    const guest = await panelFor('guest', link)
    await guest.join()
    expect(guest.role).toBe('publisher')
    await guest.toggleAudio()
    expect(guest.problem).toBeNull()
    await until(() => host.members.find((m) => m.userId === 'guest')?.audio === false)
    // Our own button follows the room's list too, whose push reaches each gateway in its own time (spread run).
    await until(() => !guest.audioOn)
    await guest.toggleAudio()
    await until(() => host.members.find((m) => m.userId === 'guest')?.audio === true)
  })

  it('the host removes someone: they are back in the lobby, told why', async () => {
    const { host, link } = await hostOf('p2m')
    const guest = await panelFor('guest', link)
    await guest.join()
    await until(() => host.members.length === 2)
    await host.kick(host.members.find((m) => m.userId === 'guest')!)
    await until(() => guest.roomState === 'unjoined')
    expect(guest.inRoom).toBe(false)
    expect(guest.notice).toBe('The host removed you from the room.')
    await until(() => host.members.length === 1)
  })

  it('refusals come in words: no such room (4001), and joining a room as another type (2002)', async () => {
    const lost = await panelFor('lost')
    lost.form.joinText = 'no-such-room'
    await lost.join()
    expect(lost.problem).toMatchObject({ message: 'No room with that id — check the link', code: 4001, name: 'ROOM_NOT_FOUND' })
    expect(lost.problem?.detail).toMatch(/^4001 ROOM_NOT_FOUND: /)
    expect(lost.inRoom).toBe(false)
    expect(lost.roomState).toBe('unjoined')

    const { host } = await hostOf('p2m')
    lost.form.joinText = host.rid!
    lost.form.joinType = 'm2m'
    await lost.join()
    expect(lost.problem?.code).toBe(2002)
  })

  it('leaving takes us back to the lobby and out of everyone’s list', async () => {
    const { host, link } = await hostOf('m2m')
    const guest = await panelFor('guest', link)
    await guest.join()
    await until(() => host.members.length === 2)
    await guest.leave()
    expect(guest.inRoom).toBe(false)
    expect(guest.notice).toBe('You left the room.')
    await until(() => host.members.length === 1)
  })
})
