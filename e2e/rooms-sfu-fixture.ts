import type { Browser, Page } from '@playwright/test'
import pino from 'pino'
import { sfuFromEnv } from '../src/relay/env-limits'
import { startRelay, type Relay } from '../src/relay/server'
import type { UdpImpairmentProcess } from '../test/net/udp-impair-process'
import { RawRoomClient, session } from '../test/raw-room-client'
import { expect, RELAY_HOST, test as base } from './fixtures'
import { newPerson } from './rooms-page'

/** The SFU specs' relay (one per worker) and the people they open, closed after each test. */

/**
 * The relay with its SFU (workers as the relay's own defaults: `sfuFromEnv({})`), warmed up:
 * a worker starts with the first SFU room and took 6–10 s here to offer its first receive
 * connections (werift), longer than a JOIN may wait, so a throwaway room starts it first.
 */
export const test = base.extend<object, { relay: Relay }>({
  relay: [async ({}, use) => {
    // Seven Chromiums starting on two cores hold the worker's event loop back past the relay's
    // admission budget (192 ms against 100 ms seen here): these tests are about media, not admission.
    const sfu = { ...(sfuFromEnv({}) ?? { workers: 1 }), lagBudgetMs: SFU_TEST_LAG_BUDGET_MS }
    const relay = await startRelay({ port: 0, host: RELAY_HOST, staticDir: 'dist', logger: pino({ level: 'silent' }), sfu })
    await warmUp(relay)
    await use(relay)
    await relay.close()
  }, { scope: 'worker' }],
})

const SFU_TEST_LAG_BUDGET_MS = 2_000
const WARM_UP_TIMEOUT_MS = 60_000

/** Creates an SFU room on `/ws/rooms` until the relay accepts it (its worker has offers ready), then leaves it. */
async function warmUp(relay: Relay): Promise<void> {
  const client = await RawRoomClient.open(relay, { userId: 'warm-up' })
  const data = { s: 'JOIN', ch: 'p2m', rid: 'warm-up', ss: session('warm-up'), eg: 'sfu', op: { roomCreating: true } }
  const deadline = Date.now() + WARM_UP_TIMEOUT_MS
  try {
    for (;;) {
      client.send('join', data)
      // A JOIN waits while the worker starts (up to 15 s in the relay's pool).
      const ack = await client.inbox.ack('JOIN', undefined, Math.max(1, deadline - Date.now()))
      if (ack.c === 200) {
        expect(ack.b?.eg).toBe('sfu')
        client.send('leave', { ...data, s: 'LEAVE' })
        return
      }
      if (Date.now() > deadline) throw new Error(`the SFU did not start: ${JSON.stringify(ack)}`)
      await new Promise((resolve) => setTimeout(resolve, 500)) // a retry cadence, not a wait for a condition
    }
  } finally {
    client.ws.close()
  }
}

export const opened: Page[] = []
export const impairments: UdpImpairmentProcess[] = []

export async function people(browser: Browser, count: number): Promise<Page[]> {
  const pages = await Promise.all(Array.from({ length: count }, () => newPerson(browser)))
  opened.push(...pages)
  return pages
}

test.afterEach(async () => {
  await Promise.all(opened.splice(0).map((page) => page.context().close()))
  await Promise.all(impairments.splice(0).map((impairment) => impairment.close()))
})

/** A tile's layer badge (the SDK's `layer` event, in words). */
export const layerOf = (page: Page, userId: string) => page.locator(`[data-testid=rooms-tile][data-user="${userId}"] [data-testid=rooms-tile-layer]`)

