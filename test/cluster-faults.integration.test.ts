import { readFileSync } from 'node:fs'
import { Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'
import { RelayChild } from '../bench/lib/relay-child'
import { startBalancer, startRedis, type Balancer, type RedisProcess } from '../src/relay/cluster/local-processes'
import { PartitionLeases } from '../src/relay/cluster/partition-lease'
import { ClusterKeys, partitionOfApp } from '../src/relay/cluster/redis-keys'
import { FencedOut, RedisPartitionStore } from '../src/relay/cluster/redis-store'
import { RTM, type RTMConfig, type LinkStateEvent, type LockEvent, type RtmErrorInfo } from '../src/sdk'
import { Capture, until, valueWhen } from './helpers'
import { expectCode } from './relay-control'

/**
 * Scaled mode under faults, with real processes: Debian's redis-server (appendfsync always),
 * relay processes (src/relay/main.ts with REDIS_URL) and HAProxy in front. Clients are the
 * SDK, reconnecting through the balancer (or straight to one relay where a test says so).
 */

const APP = 'test'
const PARTITION = partitionOfApp(APP)
const PREFIX = 'faults:'
/** The bound: every client is back (logged in again, restored) this long after the fault. */
const RESUME_BOUND_MS = 10_000
/** Seed 000 allows 10 storage calls a second per user: each writer stays under it. */
const WRITE_PACE_MS = 150
/** How long a locker keeps the lock before letting go (handovers several times a second). */
const HOLD_MS = 20
const FAULT_TEST_MS = 60_000

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Waits for an async condition (a /healthz answer, a Redis read), polling. */
const eventually = (condition: () => Promise<boolean>, what: string, timeoutMs = 15_000) => valueWhen(what, condition, timeoutMs, 50)

/** Sends `signal` to a relay's process group (FACTS.md: the tsx loader may leave helpers in it). */
function signal(relay: RelayChild, name: NodeJS.Signals): void {
  try {
    process.kill(-relay.pid, name)
  } catch {
    // the group is already gone
  }
}

/** SIGSTOP, resolved once the process is really stopped (the signal is delivered asynchronously). */
async function pause(relay: RelayChild): Promise<void> {
  signal(relay, 'SIGSTOP')
  // /proc/<pid>/stat: the state follows the command name's closing parenthesis; T is stopped.
  await until(() => readFileSync(`/proc/${relay.pid}/stat`, 'utf8').split(') ')[1]?.startsWith('T') ?? false, 5_000)
}

interface ClusterHealth { process: string; partitions: string[] }

/** One scaled-mode deployment on loopback: Redis, named relay processes and the balancer. */
class Cluster {
  constructor(readonly redis: RedisProcess, readonly relays: Map<string, RelayChild>, readonly balancer: Balancer) {}

  get url(): string {
    return this.balancer.url
  }

  relay(name: string): RelayChild {
    const relay = this.relays.get(name)
    if (!relay) throw new Error(`no relay ${name}`)
    return relay
  }

  /** Names of the processes whose /healthz lists the app's partition now (a stopped or dead one does not answer). */
  async owners(): Promise<string[]> {
    const answers = await Promise.all([...this.relays].map(async ([name, relay]) => {
      const health = relay.alive ? await relay.health(500) as unknown as ClusterHealth | null : null
      return health?.partitions.includes(PARTITION) ? [name] : []
    }))
    return answers.flat()
  }

  async ownerName(): Promise<string> {
    const owners = await this.owners()
    expect(owners).toHaveLength(1)
    return owners[0]
  }

  /** Each relay's last log lines, for a failure message. */
  logs(): string {
    return [...this.relays].map(([name, relay]) => `--- ${name}\n${relay.lastLines(8)}`).join('\n')
  }
}

/** A client, with what its logins answered (which processes served it, whether its session was kept). */
class Member {
  servedBy: { gateway: string; owner: string } | null = null
  resumed: boolean | null = null
  readonly links: Capture<'linkState'>

  constructor(readonly rtm: RTM) {
    this.links = new Capture(rtm, 'linkState')
    rtm.addEventListener('frame', (event) => {
      const frame = event.frame as { t?: string; result?: { servedBy?: Member['servedBy']; resumed?: boolean; resumeKey?: string } } | null
      if (event.direction !== 'in' || frame?.t !== 'res' || frame.result?.resumeKey === undefined) return
      this.servedBy = frame.result.servedBy ?? null
      this.resumed = frame.result.resumed ?? null
    })
  }

  get userId(): string {
    return this.rtm.userId
  }

  /** The first RECONNECTED at or after `since` (Date.now() ms). */
  backSince(since: number, timeoutMs = 30_000): Promise<LinkStateEvent> {
    return this.links.next((event) => event.currentState === 'CONNECTED' && event.operation === 'RECONNECTED' && event.timestamp >= since, timeoutMs)
  }
}

/** Lets looping clients stop between two requests: `hold` resolves once all of them wait there (nothing in flight). */
class Gate {
  private closed: { opened: Promise<void>; open(): void } | null = null
  private waiting = 0

  constructor(private readonly loops: number) {}

  async hold(): Promise<void> {
    if (!this.closed) {
      let open = () => {}
      const opened = new Promise<void>((resolve) => { open = resolve })
      this.closed = { opened, open }
    }
    await until(() => this.waiting === this.loops, 10_000)
  }

  open(): void {
    this.closed?.open()
    this.closed = null
  }

  /** In a loop, between two requests: waits while the gate is held. */
  async pass(): Promise<void> {
    if (!this.closed) return
    this.waiting++
    await this.closed.opened
    this.waiting--
  }
}

/**
 * One writer's burst: `w0`, `w1`… in its own user metadata, one after the other, each with
 * revision 0 ("only if absent"), so a write applied twice would be refused, not hidden. The
 * ack's majorRevision is the revision the write gave its item.
 */
class MetadataBurst {
  /** Key → revision its acknowledgement named, and when (Date.now()) it came. */
  readonly acked = new Map<string, { revision: number; at: number }>()
  readonly refused: { key: string; errorCode: number; reason: string }[] = []
  /** When each write was sent (Date.now()). */
  readonly sentAt: number[] = []
  /** `gate.hold()` stops the burst between two writes, `gate.open()` lets it go on. */
  readonly gate = new Gate(1)
  private stopped = false
  private readonly running: Promise<void>

  constructor(readonly rtm: RTM) {
    this.running = this.run()
  }

  /** How long the write in flight has waited for its answer; null when none is in flight. */
  waitingMs(): number | null {
    const answered = this.acked.size + this.refused.length
    return this.sentAt.length > answered ? Date.now() - this.sentAt[this.sentAt.length - 1] : null
  }

  ackedSince(since: number): number {
    let count = 0
    for (const { at } of this.acked.values()) if (at >= since) count++
    return count
  }

  /** What the burst saw, relative to `since`, for a failure message. */
  report(since: number): string {
    const lastAck = Math.max(...[...this.acked.values()].map(({ at }) => at))
    const refusals = this.refused.slice(-3).map(({ key, errorCode, reason }) => `${key} ${errorCode} ${reason}`).join('; ')
    return `${this.rtm.userId}: ${this.ackedSince(since)} acked since, last ack ${lastAck - since} ms, `
      + `${this.sentAt.length} sent, in flight ${this.waitingMs() ?? '-'} ms, refused ${this.refused.length} (last: ${refusals})`
  }

  /** Ends the burst once the write in flight has its answer. */
  async stop(): Promise<void> {
    this.halt()
    await this.running
  }

  /** No write after the one in flight (cleanup: releasing the client then ends that one). */
  halt(): void {
    this.stopped = true
    this.gate.open()
  }

  private async run(): Promise<void> {
    for (let n = 0; !this.stopped; n++) {
      await this.gate.pass()
      if (this.stopped) return
      const key = `w${n}`
      const startedAt = Date.now()
      this.sentAt.push(startedAt)
      try {
        const result = await this.rtm.storage.setUserMetadata([{ key, value: String(n), revision: 0 }]) as { majorRevision?: unknown }
        this.acked.set(key, { revision: Number(result.majorRevision), at: Date.now() })
      } catch (error) {
        const { errorCode, reason } = error as RtmErrorInfo
        this.refused.push({ key, errorCode, reason })
      }
      const pause = WRITE_PACE_MS - (Date.now() - startedAt)
      if (pause > 0 && !this.stopped) await sleep(pause)
    }
  }
}

/**
 * Lockers taking turns on one lock (acquire with retry, hold, release). Each holding is
 * recorded from the acquire's acknowledgement to just before the release is sent: the time
 * the client believed it held the lock. Two of them must never overlap.
 */
class LockHandovers {
  readonly holdings: { holder: string; from: number; to: number }[] = []
  readonly failures: { userId: string; errorCode: number; reason: string }[] = []
  /** `gate.hold()` stops the lockers between holdings, `gate.open()` lets them go on. */
  readonly gate: Gate
  private stopped = false
  private readonly running: Promise<void[]>

  constructor(lockers: RTM[], readonly channel: string, readonly lockName: string) {
    this.gate = new Gate(lockers.length)
    this.running = Promise.all(lockers.map((rtm) => this.run(rtm)))
  }

  since(at: number): number {
    return this.holdings.filter((holding) => holding.from >= at).length
  }

  async stop(): Promise<void> {
    this.halt()
    await this.running
  }

  halt(): void {
    this.stopped = true
    this.gate.open()
  }

  /** Pairs of holdings that overlap in time (must be none). */
  overlaps(): string[] {
    const sorted = [...this.holdings].sort((a, b) => a.from - b.from)
    const found: string[] = []
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i].from < sorted[i - 1].to) found.push(`${sorted[i - 1].holder} [${sorted[i - 1].from}, ${sorted[i - 1].to}] and ${sorted[i].holder} [${sorted[i].from}, ${sorted[i].to}]`)
    }
    return found
  }

  private async run(rtm: RTM): Promise<void> {
    while (!this.stopped) {
      await this.gate.pass()
      if (this.stopped) return
      try {
        await rtm.lock.acquireLock(this.channel, 'MESSAGE', this.lockName, { retry: true })
        const from = performance.now()
        await sleep(HOLD_MS)
        this.holdings.push({ holder: rtm.userId, from, to: performance.now() })
        await rtm.lock.releaseLock(this.channel, 'MESSAGE', this.lockName)
      } catch (error) {
        const { errorCode, reason } = error as RtmErrorInfo
        this.failures.push({ userId: rtm.userId, errorCode, reason })
      }
    }
  }
}

/** Replays lock events as one subscriber saw them: an ACQUIRED while someone else held the lock is a violation. */
function lockHistoryViolations(events: LockEvent[], lockName: string): string[] {
  let holder = ''
  const violations: string[] = []
  for (const event of events) {
    if (event.eventType === 'SNAPSHOT') holder = event.snapshot.find((lock) => lock.lockName === lockName)?.owner ?? ''
    if (event.lockName !== lockName) continue
    if (event.eventType === 'ACQUIRED') {
      if (holder !== '' && holder !== event.owner) violations.push(`ACQUIRED by ${event.owner} while ${holder} held it`)
      holder = event.owner
    } else if (event.eventType === 'RELEASED' || event.eventType === 'EXPIRED' || event.eventType === 'REMOVED') {
      holder = ''
    }
  }
  return violations
}

describe('scaled mode under faults (real Redis, relay processes and HAProxy)', () => {
  /** What each test started, undone last-first after it, pass or fail. */
  const undo: (() => unknown)[] = []
  afterEach(async () => {
    for (const step of undo.splice(0).reverse()) {
      await Promise.resolve().then(step).catch((error: unknown) => console.warn('cleanup step failed:', error))
    }
  })

  async function startCluster(count: number): Promise<Cluster> {
    const redis = await startRedis()
    undo.push(() => redis.destroy())
    const names = Array.from({ length: count }, (_, index) => `r${index + 1}`)
    const started = await Promise.allSettled(names.map((name) => RelayChild.start({
      env: { REDIS_URL: redis.url, REDIS_PREFIX: PREFIX, RELAY_NAME: name },
    })))
    const relays = new Map<string, RelayChild>()
    started.forEach((result, index) => {
      if (result.status !== 'fulfilled') return
      relays.set(names[index], result.value)
      // A stopped (SIGSTOP) relay is continued first, so that it can take its SIGTERM.
      undo.push(() => { signal(result.value, 'SIGCONT'); return result.value.stop() })
    })
    const failed = started.find((result) => result.status === 'rejected')
    if (failed) throw failed.reason
    const balancer = await startBalancer(names.map((name) => ({ port: relays.get(name)!.port, name })))
    undo.push(() => balancer.stop())
    return new Cluster(redis, relays, balancer)
  }

  async function join(url: string, userId: string, config: RTMConfig = {}): Promise<Member> {
    const rtm = new RTM(APP, userId, { ...config, url })
    const member = new Member(rtm)
    undo.push(() => rtm.release())
    await rtm.login()
    return member
  }

  /**
   * A login right after Redis came back (at `backAt`) may still be refused (-12001) by a process whose Redis client
   * has not reconnected yet (it retries every second at most): the SDK reports a refused first login to the app,
   * which tries again.
   */
  async function joinOnceRedisIsBack(url: string, userId: string, backAt: number): Promise<Member> {
    for (;;) {
      const member = await join(url, userId).catch((error: unknown) => {
        if ((error as RtmErrorInfo).errorCode !== -12001 || Date.now() - backAt > 10_000) throw error
        return null
      })
      if (member) return member
      await sleep(100)
    }
  }

  /** A Redis connection of the test's own (CLIENT PAUSE, reading what is stored), closed after the test. */
  async function adminOf(cluster: Cluster): Promise<Redis> {
    const redis = new Redis(cluster.redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 })
    redis.on('error', () => undefined) // Redis restarts in some tests; commands still fail loudly
    undo.push(async () => {
      // A test that failed while Redis held writes must not leave it so for the relays' shutdown.
      await Promise.race([redis.call('CLIENT', 'UNPAUSE'), sleep(1_000)]).catch(() => undefined)
      redis.disconnect()
    })
    await redis.connect()
    return redis
  }

  /** A write burst by `member`, halted after the test whatever happens. */
  function burstOf(member: Member): MetadataBurst {
    const burst = new MetadataBurst(member.rtm)
    undo.push(() => burst.halt())
    return burst
  }

  /**
   * Every key a burst acknowledged is in its user's metadata with the revision its ack named, and nothing it never
   * sent. Answers the refused writes that are stored all the same (a commit whose outcome the relay could not know).
   */
  async function expectAllAcknowledged(reader: RTM, bursts: MetadataBurst[]): Promise<string[]> {
    const refusedButStored: string[] = []
    for (const burst of bursts) {
      const { metadata } = await reader.storage.getUserMetadata({ userId: burst.rtm.userId })
      for (const [key, { revision }] of burst.acked) expect(metadata[key]?.revision, `${burst.rtm.userId}'s ${key}`).toBe(revision)
      const sent = new Set([...burst.acked.keys(), ...burst.refused.map((refusal) => refusal.key)])
      for (const key of Object.keys(metadata)) expect(sent.has(key), `${burst.rtm.userId}'s ${key} was never sent`).toBe(true)
      for (const { key } of burst.refused) if (key in metadata) refusedButStored.push(`${burst.rtm.userId}/${key}`)
    }
    return refusedButStored
  }

  it('SIGKILL of the owner mid-burst: every acknowledged write is there once, a lock never has two holders, clients resume within 10 s', async () => {
    const cluster = await startCluster(3)
    // The first login makes its gateway the owner: w1, through the balancer, is the one client the owner serves
    // itself; the others are at the other two processes (straight there, so that they stay there).
    const first = await join(cluster.url, 'w1')
    const ownerName = await cluster.ownerName()
    expect(first.servedBy?.gateway).toBe(ownerName)
    const [one, two] = [...cluster.relays].filter(([name]) => name !== ownerName).map(([, relay]) => relay.url)
    const writers = [first, await join(one, 'w2'), await join(two, 'w3')]
    const lockers = [await join(one, 'l1'), await join(two, 'l2')]
    const watcher = await join(one, 'watcher')
    const everyone = [...writers, ...lockers, watcher]
    for (const member of everyone) expect(member.servedBy?.owner).toBe(ownerName)
    const admin = await adminOf(cluster)

    await lockers[0].rtm.lock.setLock('room', 'MESSAGE', 'mic', { ttl: 30 })
    const lockEvents = new Capture(watcher.rtm, 'lock')
    const presence = new Capture(watcher.rtm, 'presence')
    await watcher.rtm.subscribe('room', { withLock: true, withPresence: true })
    for (const member of [...writers, ...lockers]) await member.rtm.subscribe('room')
    const bursts = writers.map(burstOf)
    const handovers = new LockHandovers(lockers.map((locker) => locker.rtm), 'room', 'mic')
    undo.push(() => handovers.halt())
    await until(() => bursts.every((burst) => burst.acked.size >= 3) && handovers.holdings.length >= 4, 20_000)

    // Redis holds every write command for a while (CLIENT PAUSE WRITE): w1's next write, decided by the owner, waits
    // there as a commit (the other processes' messages to the owner wait too). The owner is stopped with it there,
    // Redis lets it through, and the owner is killed: a commit made whose acknowledgement never leaves. w1 must get
    // it from the successor, and the write must be applied once.
    // The lockers wait meanwhile, so that w1's commit is the owner's next (its commits go one after another).
    await handovers.gate.hold()
    await admin.call('CLIENT', 'PAUSE', '10000', 'WRITE')
    // Unanswered for 300 ms: held in Redis (a write is otherwise answered within milliseconds on loopback).
    await until(() => (bursts[0].waitingMs() ?? 0) >= 300, 5_000)
    await pause(cluster.relay(ownerName))
    await admin.call('CLIENT', 'UNPAUSE')
    handovers.gate.open() // their requests now go to the stopped owner, and are in flight when it dies
    const unacked = `w${bursts[0].sentAt.length - 1}`
    await eventually(async () => unacked in await storedUserItems(admin, 'w1'), `w1's ${unacked} committed by the stopped owner`, 5_000)
    const killedAt = Date.now()
    const killedAtMono = performance.now()
    signal(cluster.relay(ownerName), 'SIGKILL')
    await cluster.relay(ownerName).exited
    expect(bursts[0].acked.has(unacked)).toBe(false)

    // Everyone reconnects: clients of the dead gateway through the balancer, the others when their gateway sees the app move.
    const back = await Promise.all(everyone.map((member) => member.backSince(killedAt)))
    const resumeMs = back.map((event) => event.timestamp - killedAt)
    console.info(`owner SIGKILL: clients back after ${resumeMs.join(', ')} ms`)
    expect(Math.max(...resumeMs)).toBeLessThanOrEqual(RESUME_BOUND_MS)
    for (const event of back) expect(event.unrestoredChannels).toEqual([])
    const successor = await cluster.ownerName()
    expect(successor).not.toBe(ownerName)
    for (const member of everyone) expect(member.servedBy).toMatchObject({ owner: successor })
    expect(everyone.map((member) => member.servedBy?.gateway)).not.toContain(ownerName)

    // The burst goes on at the successor, then stops with every write answered.
    await until(() => bursts.every((burst) => burst.ackedSince(killedAt) >= 3) && handovers.since(killedAtMono) >= 3, 30_000)
    await Promise.all([...bursts.map((burst) => burst.stop()), handovers.stop()])

    for (const burst of bursts) expect(burst.refused).toEqual([])
    const auditor = await join(cluster.url, 'auditor')
    await expectAllAcknowledged(auditor.rtm, bursts)
    // The write whose acknowledgement died with the owner was answered by the successor from the reply stored with it.
    expect(bursts[0].acked.get(unacked)?.revision).toBe((await storedUserItems(admin, 'w1'))[unacked].revision)
    // Every write took its own revision from the app's counter: none was applied twice.
    const revisions = bursts.flatMap((burst) => [...burst.acked.values()].map((ack) => ack.revision))
    expect(new Set(revisions).size).toBe(revisions.length)

    expect(handovers.failures).toEqual([])
    expect(handovers.overlaps()).toEqual([])
    expect(lockHistoryViolations(lockEvents.seen, 'mic')).toEqual([])
    // Nobody was seen leaving: the successor took every client in again within its presenceTimeout.
    expect(presence.seen.filter((event) => event.eventType === 'REMOTE_LEAVE' || event.eventType === 'REMOTE_TIMEOUT')).toEqual([])
    expect((await auditor.rtm.lock.getLock('room', 'MESSAGE')).lockDetails).toEqual([{ lockName: 'mic', owner: '', ttl: 30 }])
    console.info(`owner SIGKILL: ${revisions.length} writes acknowledged, ${handovers.holdings.length} lock holdings (${handovers.since(killedAtMono)} after the kill)`)
  }, FAULT_TEST_MS)

  it('SIGKILL of a gateway: its clients resume through the balancer at another process, the session kept; nobody else notices', async () => {
    const cluster = await startCluster(3)
    const members = await Promise.all(['u1', 'u2', 'u3', 'u4', 'u5', 'u6'].map((userId) => join(cluster.url, userId)))
    const ownerName = await cluster.ownerName()
    // Round robin spreads six clients over the three processes; the gateway killed is one that does not own the app.
    const gatewayName = [...cluster.relays.keys()].find((name) => name !== ownerName && members.some((member) => member.servedBy?.gateway === name))!
    const moving = members.filter((member) => member.servedBy?.gateway === gatewayName)
    const staying = members.filter((member) => member.servedBy?.gateway !== gatewayName)
    expect(moving.length).toBeGreaterThan(0)
    expect(staying.length).toBeGreaterThan(0)
    for (const member of members) await member.rtm.subscribe('lobby', { withPresence: true })
    const [watcher] = staying
    const presence = new Capture(watcher.rtm, 'presence')
    const messages = new Capture(watcher.rtm, 'message')

    const killedAt = Date.now()
    signal(cluster.relay(gatewayName), 'SIGKILL')
    await cluster.relay(gatewayName).exited
    // Sent while the link is down: delivered after the resume, exactly once.
    const writes = moving.map((member) => member.rtm.storage.setUserMetadata([{ key: 'after', value: 'kill', revision: 0 }]))

    const back = await Promise.all(moving.map((member) => member.backSince(killedAt)))
    const resumeMs = back.map((event) => event.timestamp - killedAt)
    console.info(`gateway SIGKILL: its ${moving.length} clients back after ${resumeMs.join(', ')} ms`)
    expect(Math.max(...resumeMs)).toBeLessThanOrEqual(RESUME_BOUND_MS)
    for (const member of moving) {
      expect(member.servedBy?.gateway).not.toBe(gatewayName)
      expect(member.servedBy?.owner).toBe(ownerName)
      // The owner kept the session: the resume key took it over, channels and all.
      expect(member.resumed).toBe(true)
    }
    await Promise.all(writes)

    // The moved clients still publish to the channel they were in, and the watcher hears them.
    for (const member of moving) await member.rtm.publish('lobby', `back: ${member.userId}`)
    for (const member of moving) await messages.next((event) => event.message === `back: ${member.userId}`)
    const left = presence.seen.filter((event) => event.eventType === 'REMOTE_LEAVE' || event.eventType === 'REMOTE_TIMEOUT')
    expect(left).toEqual([])
    for (const member of staying) expect(member.links.seen.filter((event) => event.timestamp >= killedAt)).toEqual([])
    expect(await cluster.ownerName()).toBe(ownerName)
    const auditor = await join(cluster.url, 'auditor')
    for (const member of moving) {
      expect((await auditor.rtm.storage.getUserMetadata({ userId: member.userId })).metadata.after?.value).toBe('kill')
    }
  }, FAULT_TEST_MS)

  it('an owner paused (SIGSTOP) past its lease and resumed cannot commit what it decided late (fenced off) and steps down', async () => {
    const cluster = await startCluster(3)
    const [first, second, third] = [cluster.relay('r1'), cluster.relay('r2'), cluster.relay('r3')]
    // The first login to the app makes its process the owner: r1. Clients pick their process here (no balancer):
    // one at r1 stays stuck while it is stopped, the others are at processes that keep running.
    const holder = await join(first.url, 'holder', { presenceTimeout: 5 })
    expect(await cluster.ownerName()).toBe('r1')
    const watcher = await join(third.url, 'watcher')
    const nearOwner = await join(first.url, 'near')
    const farWriter = await join(second.url, 'far')
    await holder.rtm.lock.setLock('room', 'MESSAGE', 'baton', { ttl: 10 })
    await holder.rtm.lock.acquireLock('room', 'MESSAGE', 'baton')
    await holder.rtm.subscribe('room', { withPresence: true })
    const lockEvents = new Capture(watcher.rtm, 'lock')
    const presence = new Capture(watcher.rtm, 'presence')
    await watcher.rtm.subscribe('room', { withLock: true, withPresence: true })
    const bursts = [burstOf(nearOwner), burstOf(farWriter)]

    // The holder's tab goes away without letting go: r1 keeps the lock for it for its ttl (10 s), then lets it
    // expire, a durable write. r1 is stopped before that, and continued after: the expiry is decided late.
    const holderGoneAt = Date.now()
    holder.rtm.release()
    // Its session timing out (presenceTimeout 5 s) shows that r1 has seen the tab go.
    await presence.next((event) => event.eventType === 'REMOTE_TIMEOUT' && event.publisher === 'holder', 15_000)
    // Stopped while it has no client request in hand (the writers wait between two writes), so that when it runs
    // again its timers (the tick) come before the requests that queued up meanwhile.
    await Promise.all(bursts.map((burst) => burst.gate.hold()))
    const stoppedAt = Date.now()
    await pause(first)
    for (const burst of bursts) burst.gate.open()

    // Its lease runs out (nobody renews it): another process takes the app, and clients there go on writing.
    await eventually(async () => (await cluster.owners()).length === 1, 'another process owns the app')
    const successor = await cluster.ownerName()
    const takenOverMs = Date.now() - stoppedAt
    const holderAgain = await join(second.url, 'holder') // at the successor, the lock stays the holder's
    expect(holderAgain.servedBy?.owner).toBe(successor)
    await until(() => bursts[1].ackedSince(stoppedAt + takenOverMs) >= 2, 15_000)

    // By design: past the lock's ttl as r1 counts it, so that its first tick after SIGCONT decides the expiry.
    const lateBy = holderGoneAt + 11_000 - Date.now()
    if (lateBy > 0) await sleep(lateBy)
    const continuedAt = Date.now()
    signal(first, 'SIGCONT')

    // r1 tried to commit the expiry with its old fencing token; Redis refused it; r1 stepped down.
    await until(() => /no longer ours/.test(first.tail), 10_000)
    expect(first.tail).toMatch(/stepped down from a partition|stepping down from the partition/)
    await eventually(async () => !((await first.health(1000)) as unknown as ClusterHealth | null)?.partitions.includes(PARTITION), 'r1 no longer lists the app')
    expect(await cluster.ownerName()).toBe(successor)
    // In Redis the lock is still the holder's: the stale expiry never landed, and nobody heard of it.
    const stored = await readPartition(await adminOf(cluster))
    const baton = Object.entries(stored).find(([key]) => /(^|\/)lock\/1\/room\/baton$/.test(key))
    expect(JSON.parse(baton?.[1] ?? 'null')).toMatchObject({ lockName: 'baton', owner: 'holder' })
    expect((await watcher.rtm.lock.getLock('room', 'MESSAGE')).lockDetails).toEqual([{ lockName: 'baton', owner: 'holder', ttl: 10 }])
    expect(lockEvents.seen.filter((event) => event.eventType === 'EXPIRED')).toEqual([])

    // The client stuck at r1 comes back (r1 is now only its gateway) and both bursts finish.
    await until(() => bursts.every((burst) => burst.ackedSince(continuedAt) >= 2), 20_000)
    await Promise.all(bursts.map((burst) => burst.stop()))
    const refusals = bursts.flatMap((burst) => burst.refused)
    for (const refusal of refusals) expect(refusal.errorCode).toBe(-12001)
    const refusedButStored = await expectAllAcknowledged(watcher.rtm, bursts)
    console.info(`owner SIGSTOP: taken over ${takenOverMs} ms after the stop; ${refusals.length} writes refused (${refusedButStored.length} stored all the same)`)
  }, FAULT_TEST_MS)

  it('at the store: a commit under a lease that ran out and was taken over is refused (FencedOut); Redis keeps the successor\'s writes', async () => {
    const redisProcess = await startRedis()
    undo.push(() => redisProcess.destroy())
    const keys = new ClusterKeys(PREFIX)
    const connect = async () => {
      const redis = new Redis(redisProcess.url, { lazyConnect: true, maxRetriesPerRequest: 1 })
      undo.push(() => redis.disconnect())
      await redis.connect()
      return redis
    }
    // Two processes' connections; a short lease so that the test need not wait seconds for it to run out.
    const leaseMs = 300
    const [firstRedis, secondRedis] = await Promise.all([connect(), connect()])
    const firstLeases = new PartitionLeases(firstRedis, keys, 'first', leaseMs)
    const secondLeases = new PartitionLeases(secondRedis, keys, 'second', leaseMs)
    const first = (await firstLeases.acquire(PARTITION)).taken!
    const firstStore = new RedisPartitionStore(firstRedis, keys, first)
    await firstStore.commit([{ key: 'k', value: 'first, while it held the lease' }])
    // While the lease lives, nobody else gets it.
    expect(await secondLeases.acquire(PARTITION)).toEqual({ taken: null, holder: first.value })

    // The first owner stops renewing (paused): its lease runs out in Redis and the second takes the partition.
    await eventually(async () => (await secondRedis.exists(keys.lease(PARTITION))) === 0, 'the first lease ran out', 5_000)
    const second = (await secondLeases.acquire(PARTITION)).taken!
    expect(second.token).toBeGreaterThan(first.token)
    const secondStore = new RedisPartitionStore(secondRedis, keys, second)
    expect(await secondStore.load()).toEqual([{ key: 'k', value: 'first, while it held the lease' }])
    await secondStore.commit([{ key: 'k', value: 'second' }])

    // The first wakes up and commits what it decided before: refused as a whole, nothing written.
    await expect(firstStore.commit([{ key: 'k', value: 'first, late' }, { key: 'extra', value: 'late' }])).rejects.toBeInstanceOf(FencedOut)
    expect(await firstLeases.renew(first)).toBe(false)
    await firstLeases.release(first) // not its lease any more: a no-op
    expect(await secondRedis.get(keys.lease(PARTITION))).toBe(second.value)
    expect(await secondStore.load()).toEqual([{ key: 'k', value: 'second' }])
  })

  it('Redis crashes (SIGKILL) and restarts from its append-only file under a write burst: no acknowledged write is lost', async () => {
    const cluster = await startCluster(3)
    const writers = await Promise.all(['w1', 'w2', 'w3'].map((userId) => join(cluster.url, userId)))
    const bursts = writers.map(burstOf)
    await until(() => bursts.every((burst) => burst.acked.size >= 3), 20_000)
    const formerOwner = cluster.relay(await cluster.ownerName())
    const admin = await adminOf(cluster) // reconnects by itself after the restart
    const leaseKey = new ClusterKeys(PREFIX).lease(PARTITION)
    const leaseBefore = await admin.get(leaseKey)

    const crashedAt = Date.now()
    await cluster.redis.kill()
    // Down long enough that every writer tries a write meanwhile.
    await until(() => bursts.every((burst) => burst.sentAt.some((at) => at > crashedAt)), 10_000)
    await cluster.redis.restart()
    const restartedAt = Date.now()
    // A login straight at the former owner, which may find its own lease still in Redis (the balancer sends some logins there too).
    await joinOnceRedisIsBack(formerOwner.url, 'straight', restartedAt)
    await until(() => bursts.every((burst) => burst.ackedSince(restartedAt) >= 3), 30_000,
      () => `${bursts.map((burst) => burst.report(restartedAt)).join('\n')}\n${cluster.logs()}`)
    await Promise.all(bursts.map((burst) => burst.stop()))
    const refusals = bursts.flatMap((burst) => burst.refused)
    // An owner that stepped down (a commit failed) is never succeeded under its old lease, its own process included: a new fencing token.
    if (/stepped down from a partition/.test(formerOwner.tail)) {
      expect(await admin.get(leaseKey)).not.toBe(leaseBefore)
    }

    // Writes in flight at the crash may be refused (their outcome unknown to the relay); acknowledged ones are all there.
    for (const refusal of refusals) expect(refusal.errorCode).toBe(-12001)
    const auditor = await join(cluster.url, 'auditor')
    const refusedButStored = await expectAllAcknowledged(auditor.rtm, bursts)
    const acked = bursts.reduce((sum, burst) => sum + burst.acked.size, 0)
    console.info(`Redis crash: ${acked} writes acknowledged, ${refusals.length} refused with -12001 (${refusedButStored.length} of them stored all the same); first write acknowledged ${firstAckAfter(bursts, restartedAt)} ms after the restart`)
    for (const relay of cluster.relays.values()) expect(relay.alive).toBe(true)
  }, FAULT_TEST_MS)

  it('the relays\' pub/sub connections are cut (CLIENT KILL TYPE pubsub) under a write burst: gateways subscribe again and their clients resume; no write is left unanswered', async () => {
    const cluster = await startCluster(3)
    const writers = await Promise.all(['w1', 'w2', 'w3'].map((userId) => join(cluster.url, userId)))
    const ownerName = await cluster.ownerName()
    const elsewhere = writers.filter((writer) => writer.servedBy?.gateway !== ownerName)
    expect(elsewhere.length).toBeGreaterThan(0) // round robin spreads three logins over three processes
    const bursts = writers.map(burstOf)
    await until(() => bursts.every((burst) => burst.acked.size >= 3), 20_000)

    const cutAt = Date.now()
    const resumed = elsewhere.map((writer) => writer.backSince(cutAt))
    const admin = await adminOf(cluster)
    expect(Number(await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub'))).toBe(cluster.relays.size)
    // Messages sent to a gateway before it subscribed again are lost: it closes its connections, and they resume.
    for (const back of await Promise.all(resumed)) expect(back.isResumed).toBe(true)
    await until(() => bursts.every((burst) => burst.ackedSince(cutAt) >= 3), 20_000,
      () => `${bursts.map((burst) => burst.report(cutAt)).join('\n')}\n${cluster.logs()}`)
    await Promise.all(bursts.map((burst) => burst.stop()))
    // A write sent into the break is resent on resume (nobody heard it: its connection was closed) and acknowledged.
    for (const burst of bursts) expect(burst.refused).toEqual([])
    await expectAllAcknowledged(writers[0].rtm, bursts)
    expect(await cluster.ownerName()).toBe(ownerName)
  }, FAULT_TEST_MS)

  it('Redis down: requests are refused with -12001 at once, no relay process dies, and service comes back with Redis', async () => {
    const cluster = await startCluster(3)
    // The first login makes its gateway the owner; dave is at another process (straight there).
    const alice = await join(cluster.url, 'alice')
    const ownerName = await cluster.ownerName()
    const [elsewhere] = [...cluster.relays].filter(([name]) => name !== ownerName).map(([, relay]) => relay.url)
    const dave = await join(elsewhere, 'dave')
    expect(alice.servedBy?.gateway).toBe(ownerName)
    expect(dave.servedBy).toMatchObject({ owner: ownerName })
    expect(dave.servedBy?.gateway).not.toBe(ownerName)
    await alice.rtm.storage.setUserMetadata([{ key: 'before', value: 'outage' }])

    await cluster.redis.stop()
    const downAt = Date.now()
    // A write can no longer be made durable: refused, not left without an answer, at the owner and through another gateway.
    await expectCode(alice.rtm.storage.setUserMetadata([{ key: 'during', value: 'outage' }]), -12001)
    await expectCode(dave.rtm.storage.setUserMetadata([{ key: 'during', value: 'outage' }]), -12001)
    const refusedMs = Date.now() - downAt
    expect(refusedMs).toBeLessThan(2_000)
    // Once the owner gave the app up (its lease could not be renewed), a new client is refused at login, with the reason.
    await eventually(async () => (await cluster.owners()).length === 0, 'no process owns the app any more')
    await expectCode(join(cluster.url, 'bob'), -12001, /Redis/)
    for (const relay of cluster.relays.values()) {
      expect(relay.alive).toBe(true)
      expect(await relay.health()).not.toBeNull()
    }

    const back = alice.backSince(Date.now())
    await cluster.redis.restart()
    const restartedAt = Date.now()
    await back
    await alice.rtm.storage.setUserMetadata([{ key: 'after', value: 'outage' }])
    const recoveredMs = Date.now() - restartedAt
    const carol = await joinOnceRedisIsBack(cluster.url, 'carol', restartedAt)
    const loginAgainMs = Date.now() - restartedAt
    const { metadata } = await carol.rtm.storage.getUserMetadata({ userId: 'alice' })
    expect(Object.keys(metadata).sort()).toEqual(['after', 'before'])
    console.info(`Redis down: both writes refused within ${refusedMs} ms; writes served again ${recoveredMs} ms and new logins ${loginAgainMs} ms after Redis returned`)
    for (const relay of cluster.relays.values()) {
      expect(relay.alive).toBe(true)
      expect(relay.errors.filter((line) => /uncaught|unhandled/i.test(line))).toEqual([])
    }
  }, FAULT_TEST_MS)
})

/** Milliseconds from `since` to the first acknowledgement at or after it, over all bursts. */
function firstAckAfter(bursts: MetadataBurst[], since: number): number {
  const times = bursts.flatMap((burst) => [...burst.acked.values()].map((ack) => ack.at).filter((at) => at >= since))
  return Math.min(...times) - since
}

/** The app partition's durable entries as Redis holds them (engine key → JSON). */
function readPartition(redis: Redis): Promise<Record<string, string>> {
  return redis.hgetall(new ClusterKeys(PREFIX).data(PARTITION))
}

/** A user's metadata items as Redis holds them (none: empty). */
async function storedUserItems(redis: Redis, userId: string): Promise<Record<string, { value: string; revision: number }>> {
  const stored = Object.entries(await readPartition(redis)).find(([key]) => key.endsWith(`/meta/u/${encodeURIComponent(userId)}`))
  return stored ? (JSON.parse(stored[1]) as { items: Record<string, { value: string; revision: number }> }).items : {}
}
