import fc from 'fast-check'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { RawEasyrtc } from '../easyrtc-harness'
import { CallsClient } from './calls-client'
import { callsSession, type CallsContext } from './calls-frames'
import { CALL_CODES, runCallsSession } from './calls-session'
import { FUZZ_FRAMES, FUZZ_SEED, LANES, runTimeout } from './config'
import { drive, type DriveResult } from './drive'
import { easyrtcSession, type EasyrtcContext } from './easyrtc-frames'
import { runEasyrtcSession } from './easyrtc-session'
import { Deep } from './json-text'
import { Ledger } from './ledger'
import { describeMemory, settleMemory, type MemoryCheck } from './memory'
import { NativeConn } from './native-conn'
import { nativeSession, type NativeContext } from './native-frames'
import { NATIVE_CODES, runNativeSession } from './native-session'
import { roomsSession, type RoomsContext } from './rooms-frames'
import { runRoomsSession } from './rooms-session'
import { peerSession, type PeerContext } from './peerjs-frames'
import { runPeerSession } from './peerjs-session'
import type { Health, RelayChild } from '../../bench/lib/relay-child'
import { RelaySlot } from './relay-slot'
import { badTokens, FUZZ_SECRET, tokenFor } from './tokens'
import { until } from './waiting'
import { CallsWatch, EasyrtcWatch, NativeWatch, PeerWatch, RoomsWatch, type Watch } from './watchers'

/**
 * The relay's five client endpoints under generated and mutated frames (issue 11,
 * "fuzz suite"). The relay runs as its own process (src/relay/main.ts), so a crash is an
 * exit the test sees. Per endpoint: the process lives and logs no error (the last-resort
 * guard logging an unhandled rejection counts as a crash), every frame that must be
 * answered is answered with a code of the dialect's table or its connection is closed,
 * well-behaved clients keep being served during and after, and memory returns to its
 * baseline. Sizes and seed: test/fuzz/config.ts.
 */

const APP = 'fuzz'
const ROOM = 'lobby'
/** PeerJS ids are `<appId>-<suffix>`; the broker forwards frames only between peers of one app. */
const MESH_APP = 'meshfuzz'
/** Native and /easyrtc run with a token secret (garbage tokens are refused), /ws/calls, /ws/rooms and /peerjs in open mode. */
const withSecret = new RelaySlot({ tokenSecret: FUZZ_SECRET })
const openMode = new RelaySlot()
afterAll(async () => { await Promise.all([withSecret.stop(), openMode.stop()]) })

console.info(`fuzz: ${FUZZ_FRAMES} frames per endpoint, seed ${FUZZ_SEED} (replay with FUZZ_SEED=${FUZZ_SEED})`)

/** One sample of `arbitrary`, fixed by the run's seed and `salt`. */
function sample<T>(arbitrary: fc.Arbitrary<T>, salt: number): T {
  return fc.sample(arbitrary, { numRuns: 1, seed: (FUZZ_SEED + salt * 7919) | 0 })[0]
}

interface Run {
  ledger: Ledger
  drive: DriveResult
  /** Error-level log lines of the relay during the run. */
  errors: string[]
  health: Health | null
}

interface Suite<W extends Watch> {
  endpoint: string
  slot: RelaySlot
  /** Frames per fuzz connection. */
  perSession: number
  watch(relay: RelayChild): Promise<W>
  /** One fuzz connection: `index` picks its frames (-1: the warm-up), `lane` its users. */
  session(relay: RelayChild, index: number, lane: number, ledger: Ledger): Promise<void>
}

/**
 * The four assertions every endpoint gets. The run happens in the first test; the
 * others read its record (and fail with its reason when the run could not finish).
 */
function fuzzSuite<W extends Watch>(suite: Suite<W>, more?: (state: () => { run: Run | null; watch: W | null }) => void): void {
  let relay: RelayChild
  let watch: W | null = null
  let baseline: Health['memory']
  let run: Run | null = null
  const sessions = Math.ceil(FUZZ_FRAMES / suite.perSession)

  let warmUpFailure: string | null = null

  beforeAll(async () => {
    relay = await suite.slot.get()
    watch = await suite.watch(relay)
    // Warm-up: one short fuzz connection loads the code paths before the memory baseline.
    // Its failure (today's relay may die on it) is the first test's to report.
    try {
      await suite.session(relay, -1, 0, new Ledger(suite.endpoint, FUZZ_SEED))
      await watch.probe()
      baseline = (await relay.collectedHealth()).memory
    } catch (error) {
      warmUpFailure = `the warm-up connection (20 frames) already failed: ${error instanceof Error ? error.message : String(error)}`
    }
  }, 60_000)
  afterAll(() => watch?.close())

  it(`stays up through ${FUZZ_FRAMES} generated and mutated frames: the process lives and logs no error`, async () => {
    expect(warmUpFailure, `seed ${FUZZ_SEED}`).toBeNull()
    const ledger = new Ledger(suite.endpoint, FUZZ_SEED)
    const errorsBefore = relay.errors.length
    const result = await drive(relay, watch!, sessions, LANES, (index, lane) => suite.session(relay, index, lane, ledger))
    run = { ledger, drive: result, errors: relay.errors.slice(errorsBefore), health: relay.alive ? await relay.health() : null }
    console.info(`${ledger.summary()}\n  ${result.probes} well-behaved round trips in ${result.durationMs} ms`)
    expect(relay.alive, `the relay exited (${relay.exit?.code ?? ''}${relay.exit?.signal ?? ''}); seed ${FUZZ_SEED}; ${result.error ?? ''}\n${relay.lastLines()}`).toBe(true)
    expect(result.error, `the run stopped: seed ${FUZZ_SEED}`).toBeNull()
    expect(run.health?.status).toBe('ok')
    expect(run.errors, `error-level log lines (a bug caught by a guard is still a bug); seed ${FUZZ_SEED}`).toEqual([])
  }, runTimeout())

  it('answers every frame that must be answered with a code of its dialect, or closes that connection', () => {
    expect(run, 'the fuzz run did not complete').not.toBeNull()
    const { ledger } = run!
    expect(ledger.badAnswers, `answers without a known code; seed ${FUZZ_SEED}`).toEqual([])
    expect(ledger.unanswered, `frames never answered on an open connection; seed ${FUZZ_SEED}`).toEqual([])
    // Pacing: over a quarter must really be processed, not refused for the rate or dropped with their connection.
    expect(ledger.processedShare, ledger.summary()).toBeGreaterThan(0.25)
  })

  it('keeps serving well-behaved clients during and after the fuzz', () => {
    expect(run, 'the fuzz run did not complete').not.toBeNull()
    expect(run!.drive.probeFailures, `seed ${FUZZ_SEED}`).toEqual([])
    expect(run!.drive.probes).toBeGreaterThan(1)
  })

  it('returns to its memory baseline once the fuzz connections are gone', async () => {
    expect(run, 'the fuzz run did not complete').not.toBeNull()
    expect(relay.alive, 'the relay is gone').toBe(true)
    const check: MemoryCheck = await settleMemory(relay, baseline)
    console.info(`${suite.endpoint} memory: ${describeMemory(check)}`)
    expect(check.ok, describeMemory(check)).toBe(true)
  }, 60_000)

  more?.(() => ({ run, watch }))
}

/**
 * The audit's crashes (finding 1), each sent once before the random fuzz: the frames the
 * generators below produce at random, in the exact combinations that killed the relay.
 */
describe('the audit\'s crashing frames (finding 1)', () => {
  const DEPTH = 20_000
  const deepNotify = (opponentId: string) => ({ op: 'call', args: { cmd: 'notify', opponentId, type: 'x', data: new Deep(DEPTH, 'array') } })
  /** 16,000 levels of `[[…]]`: 32,000 bytes, a valid payload that an EasyRTC member's codec re-parses. */
  const deepChat = new Deep(16_000, 'array').text()
  const opened: { close(): void }[] = []
  afterEach(() => { for (const connection of opened.splice(0)) connection.close() })

  /** A logged-in native user with a call sId and a /ws/calls user to notify. */
  async function caller(relay: RelayChild, name: string) {
    const callee = await CallsClient.open(relay.wsUrl, `?appId=${APP}&token=${await tokenFor(`${name}-b`)}`)
    opened.push(callee)
    await callee.register(`${name}-b`)
    const conn = await NativeConn.open(relay)
    opened.push(conn)
    expect(await conn.request('login', { appId: APP, userId: `${name}-a`, token: await tokenFor(`${name}-a`) })).toMatchObject({ ok: true })
    expect(await conn.request('call', { cmd: 'sId' })).toMatchObject({ ok: true })
    return { conn, callee, opponent: `${name}-b` }
  }

  /** The relay lives, logged no error since `from`, and `conn` still reaches `callee` with a normal notify. */
  async function stillServing(relay: RelayChild, from: number, conn: NativeConn, callee: CallsClient, opponent: string) {
    expect(await conn.request('call', { cmd: 'notify', opponentId: opponent, type: 'ping', data: { after: true } })).toMatchObject({ ok: true })
    await callee.next((frame) => frame.cmd === 'notify' && (frame.data as { after?: unknown } | undefined)?.after === true, 'a normal notify after the deep one')
    expect(relay.alive).toBe(true)
    expect(relay.errors.slice(from), 'error-level log lines').toEqual([])
  }

  function expectCoded(answer: { ok: boolean; error?: { errorCode: number } }) {
    if (!answer.ok) expect(NATIVE_CODES.has(answer.error!.errorCode) || CALL_CODES.has(answer.error!.errorCode), JSON.stringify(answer)).toBe(true)
  }

  it(`answers a call notify nested ${DEPTH} deep sent in the same TCP write as a login with a garbage token, and lives`, async () => {
    const relay = await withSecret.get()
    const from = relay.errors.length
    const { conn, callee, opponent } = await caller(relay, 'crash1')
    const [login, notify] = conn.sendTogether([{ op: 'login', args: { appId: APP, userId: 'crash1-a', token: 'garbage' } }, deepNotify(opponent)])
    expect(await conn.answer(login)).toMatchObject({ ok: false, error: { errorCode: -10005 } })
    expectCoded(await conn.answer(notify))
    await stillServing(relay, from, conn, callee, opponent)
  })

  for (const [write, request] of [
    ['setLock', { op: 'setLock', args: { channelName: 'crash-room', channelType: 1, lockName: 'pen', ttl: 60 } }],
    ['setUserMetadata', { op: 'setUserMetadata', args: { items: [{ key: 'k', value: 'v' }] } }],
  ] as const) {
    it(`answers a deep call notify sent right after a durable write (${write}) in the same TCP write, and lives`, async () => {
      const relay = await withSecret.get()
      const from = relay.errors.length
      const { conn, callee, opponent } = await caller(relay, `crash-${write}`)
      const [durable, notify] = conn.sendTogether([request, deepNotify(opponent)])
      expect(await conn.answer(durable)).toMatchObject({ ok: true })
      expectCoded(await conn.answer(notify))
      await stillServing(relay, from, conn, callee, opponent)
    })
  }

  for (const afterWrite of [false, true]) {
    it(`delivers a 32 KB [[[…]]] chat message to every member of a room with an EasyRTC member${afterWrite ? ', sent right after a durable write' : ''}, and lives`, async () => {
      const relay = await withSecret.get()
      const from = relay.errors.length
      const room = afterWrite ? 'crashroom2' : 'crashroom1'
      const member = new RawEasyrtc(relay.url)
      opened.push(member)
      expect(await member.auth({ applicationName: APP, credential: { userId: `${room}-e`, token: await tokenFor(`${room}-e`) }, roomJoin: { [room]: { roomName: room } } })).toMatchObject({ msgType: 'token' })
      const native = async (userId: string) => {
        const conn = await NativeConn.open(relay)
        opened.push(conn)
        expect(await conn.request('login', { appId: APP, userId, token: await tokenFor(userId) })).toMatchObject({ ok: true })
        expect(await conn.request('subscribe', { channelName: room, withMessage: true })).toMatchObject({ ok: true })
        return conn
      }
      const [publisher, other] = [await native(`${room}-p`), await native(`${room}-o`)]
      const publish = { op: 'publish', args: { channelName: room, channelType: 1, message: deepChat } }
      const ids = publisher.sendTogether(afterWrite ? [{ op: 'setLock', args: { channelName: room, channelType: 1, lockName: 'pen', ttl: 60 } }, publish] : [publish])
      const answer = await publisher.answer(ids.at(-1)!)
      expectCoded(answer)
      const isMessage = (text: string) => (frame: { event: Record<string, unknown> }) => frame.event.kind === 'message' && frame.event.message === text
      if (answer.ok) await other.event(isMessage(deepChat), 'the other member receiving the acknowledged deep message')
      expect(await publisher.request('publish', { channelName: room, channelType: 1, message: 'after' })).toMatchObject({ ok: true })
      await other.event(isMessage('after'), 'the other member receiving the next message')
      await relay.orDeath(until(() => member.msgs.some((msg) => msg.msgData === 'after'), 10_000, 'the EasyRTC member receiving the next message'), 11_000, 'EasyRTC delivery')
      expect(relay.alive).toBe(true)
      expect(relay.errors.slice(from), 'error-level log lines').toEqual([])
    })
  }
})

describe('native socket.io endpoint (event `f`, {t:"req", id, op, args})', () => {
  const contexts: NativeContext[] = []
  const acknowledged: string[] = []

  beforeAll(async () => {
    const bad = await badTokens()
    for (let lane = 0; lane < LANES; lane++) {
      const users = [`fz-${lane}-a`, `fz-${lane}-b`]
      const tokens = Object.fromEntries(await Promise.all(users.map(async (user) => [user, await tokenFor(user)])))
      contexts.push({ appId: APP, users, tokens, badTokens: bad, room: ROOM, callees: ['obs-callee', 'obs-caller', ...users], others: ['obs-a', 'obs-b', 'er-obs'] })
    }
  })

  fuzzSuite<NativeWatch>({
    endpoint: 'native',
    slot: withSecret,
    perSession: 120,
    watch: (relay) => NativeWatch.start(relay, APP, ROOM),
    async session(relay, index, lane, ledger) {
      const items = sample(nativeSession(contexts[lane], index < 0 ? 20 : 120), 1_000_000 + index)
      acknowledged.push(...await runNativeSession(relay, items, ledger, ROOM))
    },
  }, (state) => {
    it('delivers every acknowledged publish in the shared room to the other members', async () => {
      const { run, watch } = state()
      expect(run, 'the fuzz run did not complete').not.toBeNull()
      expect(run!.health?.status, 'the relay did not survive the fuzz run').toBe('ok')
      const missing = await watch!.missing(acknowledged)
      expect(missing.map((key) => key.slice(0, 80)), `${missing.length} of ${acknowledged.length} acknowledged publishes never reached obs-a; seed ${FUZZ_SEED}`).toEqual([])
      expect(watch!.linkChanges, 'obs-a lost its link').toEqual([])
    }, 30_000)
  })
})

describe('/easyrtc (socket.io namespace; easyrtcAuth, easyrtcCmd, easyrtcMsg with acks)', () => {
  const contexts: EasyrtcContext[] = []

  beforeAll(async () => {
    const bad = await badTokens()
    for (let lane = 0; lane < LANES; lane++) {
      const users = [`fz-${lane}-e`, `fz-${lane}-f`]
      const tokens = Object.fromEntries(await Promise.all(users.map(async (user) => [user, await tokenFor(user)])))
      contexts.push({ appId: APP, users, tokens, badTokens: bad, room: ROOM, members: ['er-a', 'er-b'] })
    }
  })

  fuzzSuite<EasyrtcWatch>({
    endpoint: '/easyrtc',
    slot: withSecret,
    perSession: 80,
    watch: (relay) => EasyrtcWatch.start(relay, APP, ROOM),
    session: (relay, index, lane, ledger) => runEasyrtcSession(relay, sample(easyrtcSession(contexts[lane], index < 0 ? 20 : 80), 2_000_000 + index), ledger),
  })
})

describe('/ws/calls (seed 002 JSON text frames)', () => {
  const contexts: CallsContext[] = Array.from({ length: LANES }, (_, lane) => ({
    sIds: [`fz-${lane}-c`, `fz-${lane}-d`],
    callees: ['obs-callee', 'obs-caller'],
  }))

  fuzzSuite<CallsWatch>({
    endpoint: '/ws/calls',
    slot: openMode,
    // Below the allowance of 100 frames per second (bursts of 200): a session is one burst.
    perSession: 90,
    watch: (relay) => CallsWatch.start(relay),
    session: (relay, index, lane, ledger) => runCallsSession(relay, sample(callsSession(contexts[lane], index < 0 ? 20 : 90), 3_000_000 + index), ledger),
  })
})

describe('/ws/rooms (seed 003 {action, data} JSON text frames)', () => {
  /** The well-behaved members' room: fuzz frames JOIN it too, and aim kicks, accepts and peer signals at its members. */
  const OBS_ROOM = 'obs-room'
  const contexts: RoomsContext[] = Array.from({ length: LANES }, (_, lane) => ({
    users: [`fz-${lane}-r`, `fz-${lane}-s`],
    sessions: [{ userId: `fz-${lane}-r`, sessionId: `fz-${lane}-r1` }, { userId: `fz-${lane}-r`, sessionId: `fz-${lane}-r2` }, { userId: `fz-${lane}-s`, sessionId: `fz-${lane}-s1` }],
    rids: [`fz-${lane}-room`, `fz-${lane}-p2p`, OBS_ROOM],
    others: ['obs-ra-1', 'obs-rb-1'],
  }))

  fuzzSuite<RoomsWatch>({
    endpoint: '/ws/rooms',
    slot: openMode,
    // Below the allowance of 100 frames per second (bursts of 200): a session is one burst.
    perSession: 90,
    watch: (relay) => RoomsWatch.start(relay, OBS_ROOM),
    session: (relay, index, lane, ledger) => runRoomsSession(relay, sample(roomsSession(contexts[lane], index < 0 ? 20 : 90), 5_000_000 + index), ledger),
  })
})

describe('/peerjs (PeerJS broker WebSocket)', () => {
  const contexts: PeerContext[] = Array.from({ length: LANES }, (_, lane) => ({
    ids: [`${MESH_APP}-${lane}p`, `${MESH_APP}-${lane}q`],
    peers: [`${MESH_APP}-obsa`, `${MESH_APP}-obsb`, `${MESH_APP}-coordinator`, 'otherapp-x'],
  }))

  fuzzSuite<PeerWatch>({
    endpoint: '/peerjs',
    slot: openMode,
    // The broker closes a socket after 20 malformed frames (MAX_BAD_FRAMES): short sessions get further.
    perSession: 40,
    watch: (relay) => PeerWatch.start(relay, MESH_APP),
    session: (relay, index, lane, ledger) => runPeerSession(relay, sample(peerSession(contexts[lane], index < 0 ? 20 : 40), 4_000_000 + index), ledger),
  })
})
