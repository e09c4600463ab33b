import { test as base } from '@playwright/test'
import pino from 'pino'
import { startRelay, type Relay } from '../src/relay/server'

/**
 * The page is served from loopback even inside scripts/netns-run: http://127.0.0.1 is a
 * secure context, so getUserMedia exists (on http://10.99.0.1 `navigator.mediaDevices` is
 * undefined). WebRTC still finds the namespace's veth (10.99.0.1) for its candidates.
 */
export const RELAY_HOST = '127.0.0.1'

/**
 * `relayUrl`: a real relay serving the built page (dist/), started once per worker (so
 * once per test file, or shared by the files a worker runs in turn) on a free port.
 * `baseURL` points at it too, so `page.goto('/?user=alice')` works.
 */
export const test = base.extend<object, { relay: Relay; relayUrl: string }>({
  baseURL: async ({ relayUrl }, use) => { await use(relayUrl) },
  relay: [async ({}, use) => {
    const relay = await startRelay({ port: 0, host: RELAY_HOST, staticDir: 'dist', logger: pino({ level: 'silent' }) })
    await use(relay)
    await relay.close()
  }, { scope: 'worker' }],
  relayUrl: [async ({ relay }, use) => { await use(relay.url) }, { scope: 'worker' }],
})

export { expect } from '@playwright/test'
