import { randomBytes } from 'node:crypto'
import pino from 'pino'
import { afterAll, afterEach, beforeEach, inject } from 'vitest'
import { startBalancer, type Balancer } from '../src/relay/cluster/local-processes'
import { startRelay, type Relay, type RelayOptions } from '../src/relay/server'
import { RTM, type RTMConfig } from '../src/sdk'
import type { JoinTopicOptions } from '../src/sdk/stream-channel'
import type { RtmEventMap } from '../src/sdk/events'

/** How many relay processes the spread run (vitest.spread.config.ts) puts behind the balancer; 0 in the normal run. */
export const SPREAD_RELAYS = Number(process.env.SPREAD_RELAYS ?? 0)
/**
 * The spread run: every relay a test starts is SPREAD_RELAYS scaled-mode relays sharing one
 * Redis, behind HAProxy, which round-robins each new connection. A test that cannot hold
 * across processes is skipped there with `skipIf(spread)` and a line saying why.
 */
export const spread = SPREAD_RELAYS > 0

/** The relays behind each spread relay, for the few helpers that act on every process (dropSocketOf). */
const processesBehind = new WeakMap<Relay, Relay[]>()
/**
 * Spread relays not closed yet. A test that fails before closing its relay loses only
 * memory in the normal run (the relay dies with the test worker), but HAProxy is a child
 * process that outlives the worker: what a test file left open is closed after it.
 */
const openSpreadRelays = new Set<Relay>()
if (spread) {
  afterAll(async () => {
    await Promise.allSettled([...openSpreadRelays].map((relay) => relay.close()))
  })
}

/**
 * A real relay on a free loopback port, quiet unless LOG_LEVEL says otherwise; in the
 * spread run, several behind a balancer whose URL it answers with (see spreadRelay).
 */
export function relayForTest(options: RelayOptions = {}): Promise<Relay> {
  const withDefaults: RelayOptions = { port: 0, logger: pino({ level: process.env.LOG_LEVEL ?? 'silent' }), ...options }
  return spread ? spreadRelay(withDefaults, SPREAD_RELAYS) : startRelay(withDefaults)
}

/** The processes serving `relay`: the relays behind the balancer in the spread run, else the relay itself. */
export function processesOf(relay: Relay): Relay[] {
  return processesBehind.get(relay) ?? [relay]
}

/**
 * `count` scaled-mode relays in this test process (each with its own Redis connections and
 * no state shared in memory: all they share goes through Redis and HAProxy; three child
 * processes per test would make the suite far too slow) under a key prefix of their own in
 * the run's Redis, and HAProxy in front. `url` and `port` are the balancer's (on
 * `options.port` when given, so a test can start a cluster again where one was); the rest
 * is the first relay's, which a test reading one process's internals cannot rely on.
 */
async function spreadRelay(options: RelayOptions, count: number): Promise<Relay> {
  const redisUrl = inject('spreadRedisUrl')
  if (!redisUrl) throw new Error('SPREAD_RELAYS needs the Redis of test/spread/redis-global-setup.ts: run vitest --config vitest.spread.config.ts')
  // Both would be the test's own, not the cluster's: state lives in Redis, and HAProxy speaks plain HTTP here.
  if (options.store) throw new Error('a spread relay keeps its state in Redis: a test of its own store cannot hold across processes')
  if (options.tls) throw new Error('the spread run\'s balancer speaks plain HTTP: a TLS test cannot hold across processes')
  const prefix = `spread-${randomBytes(5).toString('hex')}:`
  const started = await Promise.allSettled(Array.from({ length: count }, (_, index) => startRelay({
    ...options,
    port: 0,
    // Behind a balancer the client is who HAProxy forwarded for, as in a deployment.
    trustProxy: options.trustProxy ?? ['loopback'],
    cluster: { redisUrl, prefix, processId: `relay${index + 1}` },
  })))
  const relays = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []))
  let balancer: Balancer
  try {
    const failed = started.find((result) => result.status === 'rejected')
    if (failed) throw failed.reason
    balancer = await startBalancer(relays.map((relay, index) => ({ port: relay.port, name: `relay${index + 1}` })), { port: options.port || undefined, basePath: options.basePath })
  } catch (error) {
    await Promise.allSettled(relays.map((relay) => relay.close()))
    throw error
  }
  const [first] = relays
  const relay: Relay = {
    url: balancer.url,
    port: balancer.port,
    http: first.http, io: first.io, host: first.host, coordinator: first.coordinator, cluster: first.cluster, sfu: null,
    logger: first.logger, verifier: first.verifier, ice: first.ice, admission: first.admission,
    addressOf: (request) => first.addressOf(request),
    get draining() { return first.draining },
    setTls: (tls) => first.setTls(tls),
    addConnectionKind: (prefix, kind) => first.addConnectionKind(prefix, kind),
    onUpgrade: (path, handler) => first.onUpgrade(path, handler),
    async close() {
      openSpreadRelays.delete(relay)
      await balancer.stop()
      await Promise.all(relays.map((each) => each.close()))
    },
  }
  processesBehind.set(relay, relays)
  openSpreadRelays.add(relay)
  return relay
}

/** Records one event kind of a client; `next` waits for the first recorded or future match. */
export class Capture<K extends keyof RtmEventMap> {
  readonly seen: RtmEventMap[K][] = []
  private waiters: { match: (event: RtmEventMap[K]) => boolean; resolve: (event: RtmEventMap[K]) => void }[] = []

  constructor(client: RTM, name: K) {
    client.addEventListener(name, (event) => {
      this.seen.push(event)
      this.waiters = this.waiters.filter((waiter) => {
        if (!waiter.match(event)) return true
        waiter.resolve(event)
        return false
      })
    })
  }

  next(match: (event: RtmEventMap[K]) => boolean = () => true, timeoutMs = 15_000): Promise<RtmEventMap[K]> {
    const found = this.seen.find(match)
    if (found) return Promise.resolve(found)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching event within ${timeoutMs} ms; saw ${JSON.stringify(this.seen.slice(-5))}`)), timeoutMs)
      this.waiters.push({ match, resolve: (event) => { clearTimeout(timer); resolve(event) } })
    })
  }
}

export async function client(relay: Relay | string, userId: string, config: RTMConfig = {}, appId = 'test'): Promise<RTM> {
  const rtm = new RTM(appId, userId, { url: typeof relay === 'string' ? relay : relay.url, ...config })
  await rtm.login()
  return rtm
}

/** Both join stream channel `stage`; alice publishes in `topic` and bob subscribes to her there. */
export async function aliceToBobOnStage(alice: RTM, bob: RTM, topic: string, options: JoinTopicOptions = {}) {
  const atAlice = alice.createStreamChannel('stage')
  const atBob = bob.createStreamChannel('stage')
  await atAlice.join()
  await atBob.join()
  await atAlice.joinTopic(topic, options)
  await atBob.subscribeTopic(topic, { users: [alice.userId] })
  return { atAlice, atBob }
}

/**
 * Waits until `condition` holds, polling on the event loop (for state that has no event).
 * `explain` says, when it never does, what the test saw instead.
 */
export async function until(condition: () => boolean, timeoutMs = 10_000, explain?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met in time${explain ? `: ${explain()}` : ''}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/**
 * Polls `ask` (sync or async) every `everyMs` until it gives a value (anything but null,
 * undefined or false) and answers it; throws naming `what` when `timeoutMs` runs out.
 */
export async function valueWhen<T>(
  what: string, ask: () => T | null | undefined | false | Promise<T | null | undefined | false>, timeoutMs = 10_000, everyMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await ask()
    if (value !== null && value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
}

/** A fresh relay for every test and the clients the test joins, all closed after it. */
export function relayPerTest(options: RelayOptions = {}) {
  let current: Relay | undefined
  const clients: RTM[] = []
  beforeEach(async () => { current = await relayForTest(options) })
  afterEach(async () => {
    for (const rtm of clients.splice(0)) rtm.release()
    await current?.close()
  })
  const relay = () => {
    if (!current) throw new Error('the relay runs only inside a test')
    return current
  }
  return {
    get relay() { return relay() },
    async join(userId: string, config: RTMConfig = {}): Promise<RTM> {
      const rtm = await client(relay(), userId, config)
      clients.push(rtm)
      return rtm
    },
  }
}

/**
 * Relays a test starts (`start`) and what it must undo (push to `cleanup`; run last-first),
 * all undone after each test; `stop` closes one of them early (to start another on its port).
 */
export function relaysPerTest() {
  const relays: Relay[] = []
  const cleanup: (() => void)[] = []
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) fn()
    for (const relay of relays.splice(0)) await relay.close()
  })
  return {
    cleanup,
    async start(options: RelayOptions = {}): Promise<Relay> {
      const relay = await relayForTest(options)
      relays.push(relay)
      return relay
    },
    async stop(relay: Relay): Promise<void> {
      const index = relays.indexOf(relay)
      if (index >= 0) relays.splice(index, 1)
      await relay.close()
    },
  }
}
