import { SignJWT } from 'jose'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { EASYRTC_ERRORS } from '../src/relay/easyrtc/frames'
import type { Relay } from '../src/relay/server'
import type { RTM } from '../src/sdk'
import { EasyrtcClient, EasyrtcFailure, RawEasyrtc } from './easyrtc-harness'
import { Capture, client, relayForTest, until } from './helpers'

/** The real open-easyrtc client against the relay's /easyrtc namespace (seed 004). */
let relay: Relay
let app = 0
const opened: { close(): void }[] = []
const sdkClients: RTM[] = []
/** Each test gets its own EasyRTC application, so rooms never leak between tests. */
const nextApp = () => `app${++app}`
const easyrtc = () => { const c = new EasyrtcClient(relay.url); opened.push(c); return c }
const raw = () => { const c = new RawEasyrtc(relay.url); opened.push(c); return c }

beforeAll(async () => { relay = await relayForTest() })
afterEach(() => {
  for (const c of opened.splice(0)) c.close()
  for (const rtm of sdkClients.splice(0)) rtm.release()
})
afterAll(async () => { await relay.close() })


const error = (code: keyof typeof EASYRTC_ERRORS) => ({ msgType: 'error', msgData: { errorCode: code, errorText: EASYRTC_ERRORS[code] } })

describe('connecting', () => {
  it('the real client connects, gets an easyrtcid and lands in the default room', async () => {
    const alice = easyrtc()
    const id = await alice.connect(nextApp())
    expect(id).toMatch(/^[A-Za-z0-9]{16}$/)
    expect(alice.api.getRoomsJoined()).toEqual({ default: true })
    expect(alice.errors).toEqual([])
  })

  it('the token carries easyrtcid, iceConfig, roomData with clientList, application and sessionData', async () => {
    const name = nextApp()
    const first = raw()
    await first.auth({ applicationName: name, username: 'first' })
    const second = raw()
    const token = await second.auth({ applicationName: name, easyrtcsid: 'sid-1', roomJoin: { default: { roomName: 'default' } } })
    expect(token).toMatchObject({
      msgType: 'token',
      msgData: {
        easyrtcid: second.easyrtcid,
        iceConfig: { iceServers: [] }, // the relay's ICE servers (none configured here; no public STUN built in)
        application: { applicationName: name },
        sessionData: { easyrtcsid: 'sid-1' },
        serverTime: expect.any(Number),
        roomData: { default: { roomName: 'default', roomStatus: 'join', clientList: {
          [first.easyrtcid]: { easyrtcid: first.easyrtcid, username: 'first', presence: { show: 'chat', status: null }, roomJoinTime: expect.any(Number) },
          [second.easyrtcid]: { easyrtcid: second.easyrtcid, presence: { show: 'chat', status: null } },
        } } },
      },
    })
    expect(token.msgData).not.toHaveProperty('stillAliveInterval')
  })

  it('joining at connect time puts the client in the rooms it asked for, not the default one', async () => {
    const alice = easyrtc()
    alice.api.roomJoin = { lobby: { roomName: 'lobby' } }
    await alice.connect(nextApp())
    expect(alice.api.getRoomsJoined()).toEqual({ lobby: true })
  })
})

describe('rooms and occupants', () => {
  it('join and leave rooms; occupant lists follow on both sides', async () => {
    const name = nextApp()
    const alice = easyrtc(); const bob = easyrtc()
    await alice.connect(name); await bob.connect(name)
    await alice.joinRoom('kitchen')
    await bob.joinRoom('kitchen')
    await alice.occupantsOf('kitchen', (o) => bob.id in o)
    expect(bob.api.getRoomOccupantsAsMap('kitchen')).toHaveProperty(alice.id)
    await bob.leaveRoom('kitchen')
    expect(bob.api.getRoomsJoined()).toEqual({ default: true })
    await alice.occupantsOf('kitchen', (o) => !(bob.id in o))
  })

  it('a client that disconnects leaves every room at once', async () => {
    const name = nextApp()
    const alice = easyrtc(); const bob = easyrtc()
    await alice.connect(name); await bob.connect(name)
    await alice.occupantsOf('default', (o) => bob.id in o)
    bob.close()
    await alice.occupantsOf('default', (o) => !(bob.id in o))
  })

  it('presence (show/status) and username reach the other occupants', async () => {
    const name = nextApp()
    const alice = easyrtc(); const bob = easyrtc()
    bob.api.setUsername('Bob')
    await alice.connect(name); await bob.connect(name)
    bob.api.updatePresence('dnd', 'in a meeting')
    const list = await alice.occupantsOf('default', (o) => o[bob.id]?.presence.show === 'dnd')
    expect(list[bob.id]).toMatchObject({ username: 'Bob', presence: { show: 'dnd', status: 'in a meeting' } })
  })

  it('room API fields reach the other occupants, and a removed field goes away', async () => {
    const name = nextApp()
    const alice = easyrtc(); const bob = easyrtc()
    await alice.connect(name); await bob.connect(name)
    bob.api.setRoomApiField('default', 'mood', { level: 3 })
    bob.api.setRoomApiField('default', 'color', 'red')
    const list = await alice.occupantsOf('default', (o) => o[bob.id]?.apiField?.color !== undefined)
    expect(list[bob.id].apiField).toEqual({ mood: { fieldName: 'mood', fieldValue: { level: 3 } }, color: { fieldName: 'color', fieldValue: 'red' } })
    bob.api.setRoomApiField('default', 'mood')
    await alice.occupantsOf('default', (o) => o[bob.id]?.apiField?.mood === undefined)
  })

  it('the room list names occupied rooms with their head count', async () => {
    const name = nextApp()
    const alice = easyrtc(); const bob = easyrtc()
    await alice.connect(name); await bob.connect(name)
    await bob.joinRoom('attic')
    expect(await alice.roomList()).toEqual({ default: { roomName: 'default', numberClients: 2 }, attic: { roomName: 'attic', numberClients: 1 } })
  })

  it('a fresh ICE configuration is served on request', async () => {
    const alice = easyrtc()
    await alice.connect(nextApp())
    const ok = await new Promise<boolean>((resolve) => alice.api.getFreshIceConfig(resolve))
    expect(ok).toBe(true)
    const bob = raw()
    await bob.auth({ applicationName: nextApp() })
    expect(await bob.emit('easyrtcCmd', { msgType: 'getIceConfig', msgData: {} })).toMatchObject({ msgType: 'iceConfig', msgData: { iceConfig: { iceServers: expect.any(Array) } } })
  })
})

describe('messages', () => {
  it('a peer message reaches its target with the sender from the session, and is acknowledged', async () => {
    const name = nextApp()
    const alice = easyrtc(); const bob = easyrtc()
    await alice.connect(name); await bob.connect(name)
    expect(await alice.sendPeerMessage(bob.id, 'greeting', { text: 'hi' })).toEqual({ msgType: 'ack', msgData: null })
    const got = await bob.nextPeerMessage((m) => m.msgType === 'greeting')
    expect(got).toEqual({ sender: alice.id, msgType: 'greeting', msgData: { text: 'hi' }, targeting: { targetEasyrtcid: bob.id } })
  })

  it('a room message reaches every other occupant and not the sender', async () => {
    const name = nextApp()
    const [alice, bob, carol] = [easyrtc(), easyrtc(), easyrtc()]
    for (const c of [alice, bob, carol]) await c.connect(name)
    await alice.occupantsOf('default', (o) => carol.id in o && bob.id in o)
    await alice.sendPeerMessage({ targetRoom: 'default' }, 'chat', 'hello room')
    for (const c of [bob, carol]) {
      expect(await c.nextPeerMessage((m) => m.msgType === 'chat')).toEqual({ sender: alice.id, msgType: 'chat', msgData: 'hello room', targeting: { targetRoom: 'default' } })
    }
    const other = easyrtc()
    await other.connect(name)
    await other.sendPeerMessage(bob.id, 'sync', null) // everything before it has been delivered too
    await bob.nextPeerMessage((m) => m.msgType === 'sync')
    expect(alice.peerMessages).toEqual([])
  })
})

describe('WebRTC signals between two EasyRTC clients', () => {
  it('offer, answer, candidate, reject and hangup are forwarded with senderEasyrtcid and serverTime', async () => {
    const name = nextApp()
    const caller = raw(); const callee = raw()
    await caller.auth({ applicationName: name }); await callee.auth({ applicationName: name })
    const signals = [
      { msgType: 'offer', msgData: { type: 'offer', sdp: 'v=0 offer' } },
      { msgType: 'candidate', msgData: { type: 'candidate', label: 0, id: '0', candidate: 'candidate:1 1 udp 1 10.99.0.2 5000 typ host' } },
      { msgType: 'answer', msgData: { type: 'answer', sdp: 'v=0 answer' } },
      { msgType: 'reject' },
      { msgType: 'hangup' },
    ]
    for (const signal of signals) {
      // A forged sender is ignored: identity comes from the session.
      expect(await caller.emit('easyrtcCmd', { ...signal, targetEasyrtcid: callee.easyrtcid, senderEasyrtcid: 'mallory' })).toEqual({ msgType: 'ack' })
      const got = await callee.nextCmd((m) => m.msgType === signal.msgType)
      expect(got).toEqual({ ...signal, senderEasyrtcid: caller.easyrtcid, easyrtcid: callee.easyrtcid, serverTime: expect.any(Number) })
    }
  })

  it('the real client answers a relayed offer it declines with a reject that reaches the caller', async () => {
    const name = nextApp()
    const callee = easyrtc()
    const offers: string[] = []
    callee.api.setAcceptChecker((caller, reply) => { offers.push(caller); reply(false) })
    await callee.connect(name)
    const caller = raw()
    await caller.auth({ applicationName: name })
    expect(await caller.emit('easyrtcCmd', { msgType: 'offer', targetEasyrtcid: callee.id, msgData: { type: 'offer', sdp: 'v=0' } })).toEqual({ msgType: 'ack' })
    expect(await caller.nextCmd((m) => m.msgType === 'reject')).toEqual({ msgType: 'reject', senderEasyrtcid: callee.id, easyrtcid: caller.easyrtcid, serverTime: expect.any(Number) })
    expect(offers).toEqual([caller.easyrtcid])
  })

  it('a signal to a client that is not online fails with MSG_REJECT_TARGET_EASYRTCID', async () => {
    const caller = raw()
    await caller.auth({ applicationName: nextApp() })
    expect(await caller.emit('easyrtcCmd', { msgType: 'offer', targetEasyrtcid: 'nobodyHere', msgData: { sdp: 'x' } })).toMatchObject(error('MSG_REJECT_TARGET_EASYRTCID'))
  })

  it('a signal never crosses applications', async () => {
    const caller = raw(); const callee = raw()
    await caller.auth({ applicationName: nextApp() }); await callee.auth({ applicationName: nextApp() })
    expect(await caller.emit('easyrtcCmd', { msgType: 'hangup', targetEasyrtcid: callee.easyrtcid })).toMatchObject(error('MSG_REJECT_TARGET_EASYRTCID'))
  })
})

describe('errors, with the reference server\'s codes', () => {
  it('authentication: LOGIN_BAD_AUTH, LOGIN_BAD_STRUCTURE and MSG_REJECT_BAD_STRUCTURE, each closing the socket', async () => {
    const cases: [unknown, keyof typeof EASYRTC_ERRORS][] = [
      [{ msgType: 'hello', msgData: { apiVersion: '1' } }, 'LOGIN_BAD_AUTH'],
      [{ msgType: 'authenticate', msgData: {} }, 'LOGIN_BAD_STRUCTURE'],
      [{ msgType: 'authenticate', msgData: { apiVersion: '1', roomJoin: 'lobby' } }, 'LOGIN_BAD_STRUCTURE'],
      [{ msgType: 'authenticate', msgData: { apiVersion: 'bad version!' } }, 'MSG_REJECT_BAD_STRUCTURE'],
      [{ msgType: 'authenticate', msgData: { apiVersion: '1', applicationName: 'no spaces' } }, 'MSG_REJECT_BAD_STRUCTURE'],
      [{ msgType: 'authenticate', msgData: { apiVersion: '1', roomJoin: { 'bad room': { roomName: 'bad room' } } } }, 'MSG_REJECT_BAD_STRUCTURE'],
      [{ msgType: 'authenticate', msgData: { apiVersion: '1', roomJoin: { a: { roomName: 'b' } } } }, 'MSG_REJECT_BAD_STRUCTURE'],
      [{ msgType: 'authenticate', msgData: { apiVersion: '1', setPresence: { show: 'sleeping' } } }, 'MSG_REJECT_BAD_STRUCTURE'],
      [{ msgType: 'authenticate', msgData: { apiVersion: '1', credential: 'secret' } }, 'MSG_REJECT_BAD_STRUCTURE'],
      [{ msgType: 'authenticate', msgData: { apiVersion: '1', credential: { userId: 'not a valid id\u0001' } } }, 'LOGIN_BAD_AUTH'],
    ]
    for (const [msg, code] of cases) {
      const c = raw()
      const closed = new Promise((resolve) => c.socket.once('disconnect', resolve))
      expect(await c.emit('easyrtcAuth', msg), JSON.stringify(msg)).toMatchObject(error(code))
      await closed
    }
  })

  it('an authenticate without a callback is dropped', async () => {
    const c = raw()
    const closed = new Promise((resolve) => c.socket.once('disconnect', resolve))
    c.socket.emit('easyrtcAuth', { msgType: 'authenticate', msgData: { apiVersion: '1' } })
    await closed
  })

  it('commands and messages before authentication get MSG_REJECT_NO_AUTH', async () => {
    const c = raw()
    expect(await c.emit('easyrtcCmd', { msgType: 'getRoomList' })).toMatchObject(error('MSG_REJECT_NO_AUTH'))
    expect(await c.emit('easyrtcMsg', { msgType: 'x', targetRoom: 'default' })).toMatchObject(error('MSG_REJECT_NO_AUTH'))
  })

  it('easyrtcCmd: every malformed command gets the code the reference gives it', async () => {
    const c = raw()
    await c.auth({ applicationName: nextApp() })
    const cases: [unknown, keyof typeof EASYRTC_ERRORS][] = [
      ['not an object', 'MSG_REJECT_BAD_STRUCTURE'],
      [{ msgType: 42 }, 'MSG_REJECT_BAD_TYPE'],
      [{ msgType: 'teleport' }, 'MSG_REJECT_BAD_TYPE'],
      [{ msgType: 'stillAlive' }, 'MSG_REJECT_BAD_TYPE'],
      [{ msgType: 'offer', targetEasyrtcid: 'someone' }, 'MSG_REJECT_BAD_DATA'],
      [{ msgType: 'offer', msgData: { sdp: 'x' } }, 'MSG_REJECT_BAD_STRUCTURE'],
      [{ msgType: 'hangup', targetEasyrtcid: 'someone', msgData: {} }, 'MSG_REJECT_BAD_DATA'],
      [{ msgType: 'getRoomList', msgData: {} }, 'MSG_REJECT_BAD_DATA'],
      [{ msgType: 'getIceConfig', msgData: { x: 1 } }, 'MSG_REJECT_BAD_DATA'],
      [{ msgType: 'roomJoin' }, 'MSG_REJECT_BAD_DATA'],
      [{ msgType: 'roomJoin', msgData: {} }, 'MSG_REJECT_BAD_STRUCTURE'],
      [{ msgType: 'roomJoin', msgData: { roomJoin: {} } }, 'MSG_REJECT_BAD_STRUCTURE'],
      [{ msgType: 'roomJoin', msgData: { roomJoin: { 'a b': { roomName: 'a b' } } } }, 'MSG_REJECT_BAD_STRUCTURE'],
      [{ msgType: 'roomLeave', msgData: { roomLeave: { x: {} } } }, 'MSG_REJECT_BAD_STRUCTURE'],
      [{ msgType: 'setPresence', msgData: { setPresence: {} } }, 'MSG_REJECT_BAD_STRUCTURE'],
      [{ msgType: 'setPresence', msgData: { setPresence: { show: 'busy' } } }, 'MSG_REJECT_BAD_STRUCTURE'],
      [{ msgType: 'setPresence', msgData: { setPresence: { status: 'x'.repeat(256) } } }, 'MSG_REJECT_BAD_STRUCTURE'],
      [{ msgType: 'setRoomApiField', msgData: { setRoomApiField: {} } }, 'MSG_REJECT_BAD_STRUCTURE'],
      [{ msgType: 'setRoomApiField', msgData: { setRoomApiField: { roomName: 'bad room' } } }, 'MSG_REJECT_BAD_ROOM'],
      [{ msgType: 'setRoomApiField', msgData: { setRoomApiField: { roomName: 'elsewhere', field: {} } } }, 'MSG_REJECT_BAD_ROOM'],
      [{ msgType: 'setRoomApiField', msgData: { setRoomApiField: { roomName: 'default', field: { big: { fieldName: 'big', fieldValue: 'x'.repeat(4096) } } } } }, 'MSG_REJECT_BAD_SIZE'],
      [{ msgType: 'setRoomApiField', msgData: { setRoomApiField: { roomName: 'default', field: { show: { fieldName: 'show', fieldValue: 1 } } } } }, 'MSG_REJECT_BAD_FIELD'],
      [{ msgType: 'setUserCfg', msgData: { setUserCfg: {} } }, 'MSG_REJECT_BAD_STRUCTURE'],
    ]
    for (const [msg, code] of cases) expect(await c.emit('easyrtcCmd', msg), JSON.stringify(msg)).toMatchObject(error(code))
    expect(await c.emit('easyrtcCmd', { msgType: 'setUserCfg', msgData: { setUserCfg: { userSettings: { sharingAudio: false } } } })).toEqual({ msgType: 'ack' })
    expect(c.socket.connected).toBe(true) // command errors never drop the client
  })

  it('easyrtcMsg: targets that cannot be reached get the reference\'s codes', async () => {
    const name = nextApp()
    const c = raw(); const other = raw()
    await c.auth({ applicationName: name }); await other.auth({ applicationName: name, roomJoin: { elsewhere: { roomName: 'elsewhere' } } })
    const cases: [unknown, keyof typeof EASYRTC_ERRORS][] = [
      [[1, 2], 'MSG_REJECT_BAD_TYPE'],
      [{ msgType: 7, targetRoom: 'default' }, 'MSG_REJECT_BAD_TYPE'],
      [{ msgType: 'x', targetEasyrtcid: '' }, 'MSG_REJECT_TARGET_EASYRTCID'],
      [{ msgType: 'x', targetEasyrtcid: c.easyrtcid }, 'MSG_REJECT_TARGET_EASYRTCID'],
      [{ msgType: 'x', targetEasyrtcid: 'offlineUser' }, 'MSG_REJECT_GEN_FAIL'],
      [{ msgType: 'x', targetEasyrtcid: other.easyrtcid, targetRoom: 'default' }, 'MSG_REJECT_TARGET_ROOM'],
      [{ msgType: 'x', targetEasyrtcid: other.easyrtcid, targetGroup: 'staff' }, 'MSG_REJECT_TARGET_GROUP'],
      [{ msgType: 'x', targetRoom: 'elsewhere' }, 'MSG_REJECT_TARGET_ROOM'],
      [{ msgType: 'x', targetRoom: 'not a room' }, 'MSG_REJECT_TARGET_ROOM'],
      [{ msgType: 'x', targetGroup: 'staff' }, 'MSG_REJECT_TARGET_GROUP'],
      [{ msgType: 'x', targetGroup: 'no such group!' }, 'MSG_REJECT_TARGET_GROUP'],
      [{ msgType: 'webrtc:offer', targetEasyrtcid: other.easyrtcid }, 'MSG_REJECT_BAD_TYPE'],
      [{ msgType: 'x'.repeat(33), targetEasyrtcid: other.easyrtcid }, 'MSG_REJECT_BAD_TYPE'],
      [{ msgType: 'x', targetEasyrtcid: other.easyrtcid, msgData: 'y'.repeat(40_000) }, 'MSG_REJECT_BAD_SIZE'],
      [{ msgType: 'serverOnly', msgData: {} }, 'MSG_REJECT_BAD_STRUCTURE'],
    ]
    for (const [msg, code] of cases) expect(await c.emit('easyrtcMsg', msg), JSON.stringify(msg)).toMatchObject(error(code))
    expect(await c.emit('easyrtcMsg', { msgType: 'x', targetRoom: 'default', targetGroup: 'staff' })).toEqual({ msgType: 'ack' })
    expect(other.msgs).toEqual([])
  })

  it('limits: more than 50 rooms is LOGIN_GEN_FAIL at login and MSG_REJECT_BAD_ROOM later; too many API fields is MSG_REJECT_BAD_FIELD', async () => {
    const rooms = (count: number, prefix: string) => Object.fromEntries(Array.from({ length: count }, (_, i) => [`${prefix}${i}`, { roomName: `${prefix}${i}` }]))
    const greedy = raw()
    expect(await greedy.auth({ applicationName: nextApp(), roomJoin: rooms(51, 'r') })).toMatchObject(error('LOGIN_GEN_FAIL'))
    const c = raw()
    await c.auth({ applicationName: nextApp(), roomJoin: rooms(50, 'r') })
    expect(await c.emit('easyrtcCmd', { msgType: 'roomJoin', msgData: { roomJoin: rooms(1, 'more') } })).toMatchObject(error('MSG_REJECT_BAD_ROOM'))
    const field = Object.fromEntries(Array.from({ length: 31 }, (_, i) => [`f${i}`, { fieldName: `f${i}`, fieldValue: i }]))
    expect(await c.emit('easyrtcCmd', { msgType: 'setRoomApiField', msgData: { setRoomApiField: { roomName: 'r0', field } } })).toMatchObject(error('MSG_REJECT_BAD_FIELD'))
  })

  it('the real client reports failures through its callbacks', async () => {
    const alice = easyrtc()
    await alice.connect(nextApp())
    await expect(alice.sendPeerMessage('ghost', 'x', 1)).rejects.toMatchObject({ errorCode: 'MSG_REJECT_GEN_FAIL' })
    await expect(alice.joinRoom('no spaces allowed')).rejects.toBeInstanceOf(EasyrtcFailure)
  })

  it('with a token secret, a client needs a credential whose token proves its userId', async () => {
    const secret = 'easyrtc-test-secret'
    const guarded = await relayForTest({ tokenSecret: secret })
    try {
      const token = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').setExpirationTime('1h').sign(new TextEncoder().encode(secret))
      const anonymous = new RawEasyrtc(guarded.url)
      opened.push(anonymous)
      expect(await anonymous.auth()).toMatchObject(error('LOGIN_BAD_AUTH'))
      const impostor = new RawEasyrtc(guarded.url)
      opened.push(impostor)
      expect(await impostor.auth({ credential: { userId: 'bob', token } })).toMatchObject(error('LOGIN_BAD_AUTH'))
      const alice = new EasyrtcClient(guarded.url)
      opened.push(alice)
      alice.api.setCredential({ userId: 'alice', token })
      expect(await alice.connect()).toBe('alice')
    } finally {
      await guarded.close()
    }
  })
})

describe('a mixed room: EasyRTC and SDK clients together', () => {
  it('see each other in their occupant lists, with presence as states', async () => {
    const name = nextApp()
    const alice = easyrtc()
    alice.api.setUsername('Alice')
    await alice.connect(name)
    const sdk = await client(relay, 'sdk-bob', {}, name)
    sdkClients.push(sdk)
    await sdk.presence.setState('default', 'MESSAGE', { mood: 'happy' }) // cached until the join
    await sdk.subscribe('default', { withPresence: true })
    const list = await alice.occupantsOf('default', (o) => 'sdk-bob' in o)
    expect(list['sdk-bob']).toMatchObject({ easyrtcid: 'sdk-bob', presence: { show: 'chat', status: null }, apiField: { mood: { fieldName: 'mood', fieldValue: 'happy' } } })
    const online = await sdk.presence.getOnlineUsers('default', 'MESSAGE', { includedState: true })
    expect(online.occupants).toContainEqual({ userId: alice.id, states: expect.objectContaining({ show: 'chat', username: 'Alice' }), statesCount: 3 })
    const presence = new Capture(sdk, 'presence')
    alice.api.updatePresence('away', 'lunch')
    expect(await presence.next((e) => e.publisher === alice.id && e.stateChanged.show === 'away')).toMatchObject({ stateChanged: { status: 'lunch' } })
  })

  it('exchange room and direct messages both ways', async () => {
    const name = nextApp()
    const alice = easyrtc()
    await alice.connect(name)
    const sdk = await client(relay, 'sdk-bob', {}, name)
    sdkClients.push(sdk)
    const messages = new Capture(sdk, 'message')
    await sdk.subscribe('default')
    await alice.occupantsOf('default', (o) => 'sdk-bob' in o)

    await alice.sendPeerMessage({ targetRoom: 'default' }, 'chat', { text: 'hi all' })
    expect(await messages.next((e) => e.channelType === 'MESSAGE')).toMatchObject({ channelName: 'default', publisher: alice.id, customType: 'chat', message: '{"text":"hi all"}' })
    await alice.sendPeerMessage('sdk-bob', 'dm', 'just you')
    expect(await messages.next((e) => e.channelType === 'USER')).toMatchObject({ channelName: alice.id, publisher: alice.id, customType: 'dm', message: '"just you"' })

    await sdk.publish('default', 'hello easyrtc', { customType: 'chat' })
    expect(await alice.nextPeerMessage((m) => m.msgData === 'hello easyrtc')).toEqual({ sender: 'sdk-bob', msgType: 'chat', msgData: 'hello easyrtc', targeting: { targetRoom: 'default' } })
    await sdk.publish(alice.id, '{"n":1}', { channelType: 'USER' })
    expect(await alice.nextPeerMessage((m) => m.sender === 'sdk-bob' && m.msgType === 'message')).toEqual({ sender: 'sdk-bob', msgType: 'message', msgData: { n: 1 }, targeting: { targetEasyrtcid: alice.id } })
  })
})

describe('signals in a mixed app', () => {
  it('an SDK client and an EasyRTC client exchange offer and answer as webrtc:* user messages', async () => {
    const name = nextApp()
    const easy = raw()
    await easy.auth({ applicationName: name })
    const sdk = await client(relay, 'sdk-carol', {}, name)
    sdkClients.push(sdk)
    const messages = new Capture(sdk, 'message')
    await sdk.publish(easy.easyrtcid, JSON.stringify({ type: 'offer', sdp: 'v=0 sdk' }), { channelType: 'USER', customType: 'webrtc:offer' })
    expect(await easy.nextCmd((m) => m.msgType === 'offer')).toEqual({
      msgType: 'offer', senderEasyrtcid: 'sdk-carol', easyrtcid: easy.easyrtcid, msgData: { type: 'offer', sdp: 'v=0 sdk' }, serverTime: expect.any(Number),
    })
    expect(await easy.emit('easyrtcCmd', { msgType: 'answer', targetEasyrtcid: 'sdk-carol', msgData: { type: 'answer', sdp: 'v=0 easy' } })).toEqual({ msgType: 'ack' })
    const answer = await messages.next((e) => e.customType === 'webrtc:answer')
    expect(answer).toMatchObject({ channelType: 'USER', publisher: easy.easyrtcid })
    expect(JSON.parse(answer.message as string)).toEqual({ type: 'answer', sdp: 'v=0 easy' })
  })
})

describe('large rooms', () => {
  it('above the INTERVAL threshold, joins reach members as batched clientListDelta updates', async () => {
    const small = await relayForTest({ engine: { intervalThreshold: 3, intervalMs: 100 } })
    try {
      const name = 'busy'
      const watcher = new RawEasyrtc(small.url)
      opened.push(watcher)
      await watcher.auth({ applicationName: name })
      const joiners = Array.from({ length: 8 }, () => { const c = new RawEasyrtc(small.url); opened.push(c); return c })
      await Promise.all(joiners.map((c) => c.auth({ applicationName: name, username: 'j' })))
      const seen = new Set<string>()
      await until(() => {
        for (const cmd of watcher.cmds) for (const id of Object.keys(cmd.msgData?.roomData?.default?.clientListDelta?.updateClient ?? {})) seen.add(id)
        return joiners.every((c) => seen.has(c.easyrtcid))
      })
      const batched = watcher.cmds.filter((cmd) => Object.keys(cmd.msgData.roomData.default.clientListDelta.updateClient ?? {}).length > 1)
      expect(batched.length).toBeGreaterThan(0)
      expect(watcher.cmds.length).toBeLessThan(joiners.length)
      const entry = batched[0].msgData.roomData.default.clientListDelta.updateClient
      expect(Object.values(entry)[0]).toMatchObject({ username: 'j', presence: { show: 'chat' } })
    } finally {
      await small.close()
    }
  })
})
