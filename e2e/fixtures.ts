import { test as base } from '@playwright/test'
import pino from 'pino'
import { startRelay, type Relay } from '../src/relay/server'

/**
 * Inside scripts/netns-run the relay listens on the namespace's veth address, so that
 * WebRTC (which ignores loopback) and the page reach it the same way; elsewhere on loopback.
 */
export const RELAY_HOST = process.env.NETNS_RUN_INSIDE ? '10.99.0.1' : '127.0.0.1'

/** `relayUrl`: a real relay serving the built page (dist/), started once per test file on a free port. */
export const test = base.extend<object, { relay: Relay; relayUrl: string }>({
  relay: [async ({}, use) => {
    const relay = await startRelay({ port: 0, host: RELAY_HOST, staticDir: 'dist', logger: pino({ level: 'silent' }) })
    await use(relay)
    await relay.close()
  }, { scope: 'worker' }],
  relayUrl: [async ({ relay }, use) => { await use(relay.url) }, { scope: 'worker' }],
})

export { expect } from '@playwright/test'
