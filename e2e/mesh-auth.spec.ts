import type { BrowserContext, Page } from '@playwright/test'
import { SignJWT } from 'jose'
import pino from 'pino'
import { startRelay, type Relay } from '../src/relay/server'
import { RELAY_HOST } from './fixtures'
import { coordinatorOf, expect, test as serverless } from './serverless'

/** Mesh mode against a relay with a token secret: the PeerJS broker admits only sockets carrying a login token for the id's app. */
const SECRET = 'mesh-e2e-secret'
const test = serverless.extend<object, { relay: Relay }>({
  relay: [async ({}, use) => {
    const relay = await startRelay({ port: 0, host: RELAY_HOST, tokenSecret: SECRET, logger: pino({ level: 'silent' }) })
    await use(relay)
    await relay.close()
  }, { scope: 'worker' }],
})

function tokenFor(appId: string, userId: string): Promise<string> {
  return new SignJWT({ appId }).setProtectedHeader({ alg: 'HS256' }).setSubject(userId).setExpirationTime('1h').sign(new TextEncoder().encode(SECRET))
}

/** The harness page with an RTM client in mesh mode that logs in with `token`; resolves to the login's outcome ('ok', or 'failed: NAME CODE: reason'). */
async function meshLogin(context: BrowserContext, harnessUrl: string, relayUrl: string, appId: string, userId: string, token: string): Promise<{ page: Page; login: string }> {
  const page = await context.newPage()
  await page.goto(harnessUrl)
  await page.waitForFunction(() => 'harness' in globalThis)
  const login = await page.evaluate(async ([appId, userId, token, url]) => {
    // The SDK module the harness already loaded (Vite serves the sources).
    const sdk = '/src/sdk/index.ts'
    const { RTM } = (await import(/* @vite-ignore */ sdk)) as typeof import('../src/sdk')
    const rtm = new RTM(appId, userId, { transport: 'mesh', url })
    harness.rtm = rtm
    rtm.addEventListener('message', (event) => harness.messages.push({ publisher: event.publisher, message: String(event.message), topicName: '' }))
    return rtm.login({ token }).then(() => 'ok', (error: { name?: string; errorCode?: number; reason?: string }) => `failed: ${error.name} ${error.errorCode}: ${error.reason}`)
  }, [appId, userId, token, relayUrl] as const)
  return { page, login }
}

test('with a token secret, browsers join the mesh with their login token, and a token for another app cannot take the coordinator id', async ({ browser, harnessUrl, relayUrl }) => {
  const appId = `mesh-auth-${Date.now()}`
  const contexts = [await browser.newContext(), await browser.newContext(), await browser.newContext()]
  const alice = await meshLogin(contexts[0], harnessUrl, relayUrl, appId, 'alice', await tokenFor(appId, 'alice'))
  const bob = await meshLogin(contexts[1], harnessUrl, relayUrl, appId, 'bob', await tokenFor(appId, 'bob'))
  expect([alice.login, bob.login]).toEqual(['ok', 'ok'])
  const described = await Promise.all([alice.page, bob.page].map(coordinatorOf))
  expect(described.filter((text) => text.startsWith('this browser'))).toHaveLength(1)
  expect(described).toContain(`peer ${appId}-coordinator`)
  await bob.page.evaluate(() => harness.rtm!.subscribe('lobby'))
  await alice.page.evaluate(() => harness.rtm!.subscribe('lobby'))
  await alice.page.evaluate(() => harness.rtm!.publish('lobby', 'signed in'))
  await expect.poll(() => bob.page.evaluate(() => harness.messages.map((m) => `${m.publisher}:${m.message}`))).toContain('alice:signed in')

  // Mallory's token is valid, but for another app: the broker refuses her sockets, so she neither coordinates nor follows.
  const host = described[0].startsWith('this browser') ? alice : bob
  const mallory = await meshLogin(contexts[2], harnessUrl, relayUrl, appId, 'mallory', await tokenFor('elsewhere', 'mallory'))
  expect(mallory.login).toMatch(/^failed/)
  expect(await coordinatorOf(host.page)).toMatch(/^this browser/)
  for (const context of contexts) await context.close()
})

test('a browser with a valid token for mallory cannot log in as alice through the mesh coordinator, and alice\'s own session goes on', async ({ browser, harnessUrl, relayUrl }) => {
  const appId = `mesh-identity-${Date.now()}`
  const contexts = [await browser.newContext(), await browser.newContext(), await browser.newContext()]
  // Bob logs in first and coordinates; alice follows over a data channel.
  const bob = await meshLogin(contexts[0], harnessUrl, relayUrl, appId, 'bob', await tokenFor(appId, 'bob'))
  const alice = await meshLogin(contexts[1], harnessUrl, relayUrl, appId, 'alice', await tokenFor(appId, 'alice'))
  expect([bob.login, alice.login]).toEqual(['ok', 'ok'])
  expect(await coordinatorOf(bob.page)).toMatch(/^this browser/)
  expect(await coordinatorOf(alice.page)).toBe(`peer ${appId}-coordinator`)
  for (const page of [bob.page, alice.page]) await page.evaluate(() => harness.rtm!.subscribe('lobby'))

  // Mallory's token is valid for this app, so the broker lets her follow; the coordinator, told by
  // the broker who her data channel belongs to, refuses her login as alice.
  const mallory = await meshLogin(contexts[2], harnessUrl, relayUrl, appId, 'alice', await tokenFor(appId, 'mallory'))
  expect(mallory.login).toBe(`failed: INVALID_TOKEN -10005: this connection was authenticated as mallory of app ${appId}`)

  await alice.page.evaluate(() => harness.rtm!.publish('lobby', 'still me'))
  await expect.poll(() => bob.page.evaluate(() => harness.messages.map((m) => `${m.publisher}:${m.message}`))).toContain('alice:still me')
  expect(await coordinatorOf(bob.page)).toMatch(/^this browser/)
  for (const context of contexts) await context.close()
})
