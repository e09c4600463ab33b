import pino from 'pino'
import { afterEach, beforeEach } from 'vitest'
import { startRelay, type Relay, type RelayOptions } from '../src/relay/server'
import { RTM, type RTMConfig } from '../src/sdk'
import type { JoinTopicOptions } from '../src/sdk/stream-channel'
import type { RtmEventMap } from '../src/sdk/events'

/** A real relay on a free loopback port, quiet unless LOG_LEVEL says otherwise. */
export function relayForTest(options: RelayOptions = {}): Promise<Relay> {
  return startRelay({ port: 0, logger: pino({ level: process.env.LOG_LEVEL ?? 'silent' }), ...options })
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

/** Waits until `condition` holds, polling on the event loop (for state that has no event). */
export async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 10))
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
