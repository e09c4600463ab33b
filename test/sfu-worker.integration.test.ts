import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SFU_AUDIO_SLOTS, SFU_VIDEO_SLOTS } from '../src/protocol/sfu'
import type { FromWorker, SfuMember, ToWorker, WorkerFigures } from '../src/relay/sfu/sfu-ipc'
import { until, valueWhen } from './helpers'
import { SyntheticPublisher, SyntheticViewer, type MemberSignal } from './sfu/synthetic-member'

const WORKER = fileURLToPath(new URL('../src/relay/sfu/sfu-worker.ts', import.meta.url))

/** The worker answers within 5 s here, or something is wrong. */
const waitFor = <T,>(what: string, ask: () => T | null | undefined | false, timeoutMs = 5000) => valueWhen(what, ask, timeoutMs)

/** The worker process and the relay's side of its IPC, as a test drives it. */
class WorkerDriver {
  readonly child: ChildProcess
  readonly prepared: { pc: string; sdp: string }[] = []
  readonly figures: WorkerFigures[] = []
  readonly answers = new Map<number, WorkerFigures>()
  readonly members = new Map<string, (signal: MemberSignal) => void>()
  stderr = ''
  ready = false
  #figureId = 0

  constructor() {
    this.child = fork(WORKER, [], {
      execArgv: ['--import', 'tsx', '--expose-gc'],
      env: { ...process.env, SFU_INTERFACE_ADDRESS: '127.0.0.1' },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    })
    this.child.stderr!.on('data', (chunk: Buffer) => { this.stderr += chunk.toString() })
    this.child.on('message', (message: FromWorker) => {
      switch (message.t) {
        case 'ready': this.ready = true; break
        case 'prepared': this.prepared.push(message); break
        case 'signal': this.members.get(`${message.room}/${message.to}`)?.(message.signal as MemberSignal); break
        case 'figures':
          if (message.id !== undefined) this.answers.set(message.id, message.figures)
          else this.figures.push(message.figures)
          break
      }
    })
  }

  send(message: ToWorker): void {
    this.child.send(message)
  }

  async takePrepared(): Promise<{ pc: string; sdp: string }> {
    if (this.prepared.length === 0) this.send({ t: 'prepare', count: 1 })
    return waitFor('a prepared receive connection', () => this.prepared.shift())
  }

  async askFigures(): Promise<WorkerFigures> {
    const id = ++this.#figureId
    this.send({ t: 'figures', id })
    return waitFor('figures', () => this.answers.get(id))
  }

  /** Asks for the figures until `ok` holds of them. */
  figuresWhen(what: string, ok: (figures: WorkerFigures) => boolean): Promise<WorkerFigures> {
    return valueWhen(what, async () => { const figures = await this.askFigures(); return ok(figures) && figures }, 5000, 50)
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null
  }
}

/** A room as the relay would run it: its member list and the members' signal routes. */
class TestRoom {
  readonly list = new Map<string, SfuMember>()
  constructor(readonly driver: WorkerDriver, readonly id: string) {}

  #signalOf(sessionId: string) {
    return (signal: MemberSignal) => this.driver.send({ t: 'signal', room: this.id, from: sessionId, signal: signal as never })
  }

  #publishList(): void {
    this.driver.send({ t: 'members', room: this.id, members: [...this.list.values()] })
  }

  async addViewer(sessionId: string, publish = false): Promise<SyntheticViewer> {
    const { pc, sdp } = await this.driver.takePrepared()
    const viewer = new SyntheticViewer({ send: this.#signalOf(sessionId) })
    this.driver.members.set(`${this.id}/${sessionId}`, (signal) => void viewer.receive(signal))
    this.list.set(sessionId, { sessionId, publish, video: publish, audio: publish })
    this.driver.send({ t: 'bind', pc, room: this.id, sessionId })
    this.#publishList()
    await viewer.answer(sdp)
    return viewer
  }

  async addPublisher(sessionId: string, options: { simulcast?: boolean } = {}): Promise<{ publisher: SyntheticPublisher; viewer: SyntheticViewer }> {
    const viewer = await this.addViewer(sessionId, true)
    let publisher: SyntheticPublisher | null = null
    const pending: MemberSignal[] = []
    const route = this.driver.members.get(`${this.id}/${sessionId}`)!
    this.driver.members.set(`${this.id}/${sessionId}`, (signal) => {
      if (signal.s === 'ANSWER') {
        if (publisher) void publisher.receive(signal)
        else pending.push(signal)
      } else route(signal)
    })
    publisher = await SyntheticPublisher.start({ send: this.#signalOf(sessionId), simulcast: options.simulcast })
    for (const signal of pending) void publisher.receive(signal)
    return { publisher, viewer }
  }

  remove(sessionId: string): void {
    this.list.delete(sessionId)
    this.driver.members.delete(`${this.id}/${sessionId}`)
    this.#publishList()
  }
}

describe('SFU worker (real process, synthetic members on 127.0.0.1)', () => {
  let driver: WorkerDriver
  beforeAll(async () => {
    driver = new WorkerDriver()
    await waitFor('the worker ready', () => driver.ready, 15_000)
  }, 20_000)
  afterAll(() => {
    driver.child.disconnect()
  })

  it('1 publisher → 3 viewers: video and audio flow, each viewer decodes within 2 s, slots name the publisher', async () => {
    const room = new TestRoom(driver, 'app\u0000fanout')
    const { publisher, viewer: own } = await room.addPublisher('pub', { simulcast: true })
    const viewers = await Promise.all(['v1', 'v2', 'v3'].map((id) => room.addViewer(id)))

    for (const viewer of viewers) {
      await waitFor('slots naming the publisher', () => viewer.slotOf('pub', 'video') && viewer.slotOf('pub', 'audio'))
      expect(Object.keys(viewer.mapping!.video)).toHaveLength(SFU_VIDEO_SLOTS)
      expect(Object.keys(viewer.mapping!.audio)).toHaveLength(SFU_AUDIO_SLOTS)
      const firstKeyframe = await waitFor('a first keyframe', () => viewer.firstKeyframeMs)
      expect(firstKeyframe).toBeLessThan(2000)
    }
    // Packets keep advancing on both kinds, without sequence jumps.
    const before = viewers.map((v) => [v.totalPackets('video'), v.totalPackets('audio')])
    await waitFor('packets advancing', () => viewers.every((v, i) => v.totalPackets('video') > before[i][0] + 50 && v.totalPackets('audio') > before[i][1] + 20))
    for (const viewer of viewers) {
      const video = viewer.slots.get(viewer.slotOf('pub', 'video')!)!
      expect(video.discontinuities).toBe(0)
      expect(viewer.layers.get('pub')).toBe('h')
    }
    // The publisher was asked for keyframes; its own receive connection never carries itself.
    expect(publisher.pliCount.get('h') ?? 0).toBeGreaterThan(0)
    expect(own.slotOf('pub', 'video') ?? null).toBeNull()
    expect(own.totalPackets('video')).toBe(0)

    const late = await room.addViewer('late')
    const lateKeyframe = await waitFor('the late viewer\'s first keyframe', () => late.firstKeyframeMs)
    expect(lateKeyframe).toBeLessThan(2000)

    const figures = await driver.askFigures()
    expect(figures.keyframeRequests).toBeGreaterThan(0)
    expect(figures.forwardedPackets).toBeGreaterThan(0)
    expect(figures.rooms).toBeGreaterThanOrEqual(1)
    expect(figures.members).toBe(5)

    // A viewer's layer preference caps it, and the switch lands on a keyframe of the low layer.
    viewers[0].preferLayer('pub', 'l')
    await waitFor('the switch to the low layer', () => viewers[0].layers.get('pub') === 'l')
    const afterSwitch = viewers[0].totalPackets('video')
    await waitFor('low-layer packets', () => viewers[0].totalPackets('video') > afterSwitch + 30)
    expect(viewers[0].slots.get(viewers[0].slotOf('pub', 'video')!)!.discontinuities).toBe(0)

    const rate = viewers[1].packetsPerSecond()
    // 30 fps × 4 packets + 50 audio packets/s on the top layer.
    expect(rate).toBeGreaterThan(100)
    console.log(`viewer receives ${rate.toFixed(0)} packets/s; worker forwarded ${figures.forwardedPackets} packets, rss ${(figures.rssBytes / 2 ** 20).toFixed(0)} MiB`)

    publisher.close()
    for (const viewer of [...viewers, late]) viewer.close()
    room.list.clear()
    driver.send({ t: 'members', room: room.id, members: [] })
    expect((await driver.figuresWhen('the room gone', (f) => f.rooms === 0)).rooms).toBe(0)
  }, 30_000)

  it('members leaving and rejoining 50 times leave no connections and no heap growth behind', async () => {
    const room = new TestRoom(driver, 'app\u0000churn')
    const { publisher, viewer: pubViewer } = await room.addPublisher('pub')
    const cycle = async (round: number) => {
      const ids = Array.from({ length: 5 }, (_, i) => `c${i}-${round}`)
      const viewers = await Promise.all(ids.map((id) => room.addViewer(id)))
      await Promise.all(viewers.map((v) => waitFor('media on the churn viewer', () => v.totalPackets('audio') > 0)))
      for (const id of ids) room.remove(id)
      for (const v of viewers) v.close()
    }
    await cycle(-1)
    const baseline = await driver.askFigures()
    for (let round = 0; round < 10; round++) await cycle(round)
    // Closing a werift connection finishes asynchronously: let the count settle.
    const after = await driver.figuresWhen('the connections closed', (f) => f.connections <= baseline.connections)
    expect(after.connections).toBe(baseline.connections)
    expect(after.members).toBe(baseline.members)
    const growth = after.heapUsedBytes - baseline.heapUsedBytes
    console.log(`heap after GC: baseline ${(baseline.heapUsedBytes / 2 ** 20).toFixed(1)} MiB, after 50 leave/rejoin ${(after.heapUsedBytes / 2 ** 20).toFixed(1)} MiB; rss ${(baseline.rssBytes / 2 ** 20).toFixed(0)} → ${(after.rssBytes / 2 ** 20).toFixed(0)} MiB`)
    // One idle receive connection holds ~290 KiB of heap (measured: 50 prepared → +14 MiB), so
    // 50 leaked would be ~14 MiB; 8 MiB leaves room for werift's caches and V8 noise (~1 MiB seen).
    expect(growth).toBeLessThan(8 * 2 ** 20)
    publisher.close()
    pubViewer.close()
    driver.send({ t: 'members', room: room.id, members: [] })
  }, 60_000)

  it('a garbage SDP does not crash the worker; the member\'s connection is dropped and others keep working', async () => {
    const room = new TestRoom(driver, 'app\u0000garbage')
    const { publisher } = await room.addPublisher('pub')
    const good = await room.addViewer('good')
    const { pc } = await driver.takePrepared()
    room.list.set('bad', { sessionId: 'bad', publish: true, video: true, audio: true })
    driver.send({ t: 'bind', pc, room: room.id, sessionId: 'bad' })
    driver.send({ t: 'members', room: room.id, members: [...room.list.values()] })
    driver.send({ t: 'signal', room: room.id, from: 'bad', signal: { s: 'ANSWER', sdp: 'v=0\r\nthis is not sdp' } })
    driver.send({ t: 'signal', room: room.id, from: 'bad', signal: { s: 'OFFER', sdp: { type: 'offer', sdp: 'v=0\r\nm=video 9 nonsense' } } })
    driver.send({ t: 'signal', room: room.id, from: 'bad', signal: { s: 'CANDIDATE', side: 'subscriber', candidate: { candidate: 'candidate:garbage' } } })
    driver.send({ t: 'signal', room: room.id, from: 'bad', signal: { s: 'OFFER', sdp: 42 } })
    await until(() => driver.stderr.includes('bad (subscriber)'), 5000, () => `the bad receive connection was not dropped; the worker logged: ${driver.stderr}`)
    expect(driver.alive).toBe(true)
    const before = good.totalPackets('video')
    await waitFor('media still flowing to the good viewer', () => good.totalPackets('video') > before + 30)
    publisher.close()
    good.close()
    driver.send({ t: 'members', room: room.id, members: [] })
  }, 20_000)
})
