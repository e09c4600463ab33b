import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { connect } from 'node:tls'
import type { Browser, BrowserContext, Page } from '@playwright/test'
import { expect, test } from '@playwright/test'
import { connectedVideoCall, openAppAs, peerRow } from './calls-page'
import { messages, openCoordinatedTabs, send, signInAs } from './chat-page'
import { LAN_PORT, LanRelay, RELAY_ADDRESS } from './hosting/relay-namespace'

/**
 * Issue 18, "host it for real": `npm start -- --lan` on one machine, the browser on
 * another. The relay runs in a network namespace of its own (e2e/hosting/relay-namespace.ts),
 * so every page here comes from https://10.99.1.2:8443/ with the certificate the relay made
 * on first run — never from localhost. Chromium accepts the self-signed certificate only
 * because these contexts say so (ignoreHTTPSErrors), as a user clicks through the warning.
 */

test.describe.configure({ mode: 'serial' })

let relay: LanRelay

test.beforeAll(async () => {
  if (!existsSync('dist/index.html')) execFileSync('npx', ['vite', 'build'], { stdio: 'ignore' })
  relay = await LanRelay.start()
})

test.afterEach(async ({}, testInfo) => {
  // The relay's own words (its logs at info, a drain's signal, an exit) explain a failure the page cannot.
  if (testInfo.status !== testInfo.expectedStatus && relay) await testInfo.attach('relay output', { body: relay.output, contentType: 'text/plain' })
})

test.afterAll(async () => {
  await relay?.stop()
})

/** The URL of the relay's page without the final slash, as `openAppAs` and `signInAs` want it. */
const base = () => relay.url.replace(/\/$/, '')

/** A browser context that, like a user who clicked "Proceed", accepts the relay's certificate. */
function newContext(browser: Browser): Promise<BrowserContext> {
  return browser.newContext({ ignoreHTTPSErrors: true, permissions: ['camera', 'microphone'] })
}

/** The certificate's SHA-256 fingerprint as the banner prints it, or null. */
function bannerFingerprint(stdout: string): string | null {
  return /SHA-256 fingerprint: ((?:[0-9A-F]{2}:){31}[0-9A-F]{2})/.exec(stdout)?.[1] ?? null
}

/** The SHA-256 fingerprint of the certificate the relay presents on a TLS handshake. */
function servedFingerprint(): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: RELAY_ADDRESS, port: LAN_PORT, rejectUnauthorized: false }, () => {
      resolve(socket.getPeerCertificate().fingerprint256)
      socket.end()
    })
    socket.on('error', reject)
  })
}

async function signInWithForm(context: BrowserContext, userId: string): Promise<Page> {
  return signInAs(await context.newPage(), base(), userId, { viaForm: true })
}

test('the banner lists the LAN URL, a QR code to scan, why the browser warns and the certificate fingerprint', async () => {
  const lines = relay.stdout.split('\n')
  expect(lines.some((line) => line.trim() === `https://${RELAY_ADDRESS}:${LAN_PORT}/`)).toBe(true)
  // A terminal QR code: rows drawn with half and full block characters.
  expect(lines.filter((line) => /[▀▄█]{4}/.test(line)).length).toBeGreaterThan(10)
  expect(lines.some((line) => /warn/i.test(line) && /certificate/i.test(line))).toBe(true)
  // The fingerprint printed is the one of the certificate the relay really serves.
  const fingerprint = bannerFingerprint(relay.stdout)
  expect(fingerprint).not.toBeNull()
  expect(await servedFingerprint()).toBe(fingerprint)
})

test('the page at the LAN URL is a secure context on a network address: camera and Web Locks are there', async ({ browser }) => {
  const context = await newContext(browser)
  const page = await context.newPage()
  const response = await page.goto(relay.url)
  expect(response?.status()).toBe(200)
  expect((await response?.securityDetails())?.protocol).toMatch(/^TLS/)
  const seen = await page.evaluate(() => ({
    hostname: location.hostname,
    protocol: location.protocol,
    secure: isSecureContext,
    mediaDevices: typeof navigator.mediaDevices?.getUserMedia === 'function',
    locks: typeof navigator.locks?.request === 'function',
  }))
  expect(seen).toEqual({ hostname: RELAY_ADDRESS, protocol: 'https:', secure: true, mediaDevices: true, locks: true })
  await context.close()
})

test('two browsers sign in through the form and chat both ways over wss', async ({ browser }) => {
  const contexts = [await newContext(browser), await newContext(browser)]
  const sockets: string[] = []
  for (const context of contexts) context.on('page', (page) => page.on('websocket', (socket) => sockets.push(socket.url())))
  const alice = await signInWithForm(contexts[0], 'alice')
  const bob = await signInWithForm(contexts[1], 'bob')
  await expect(alice.getByTestId('header-coordinator')).toHaveText(base())

  await expect(alice.getByTestId('online-user').and(alice.locator('[data-user="bob"]'))).toBeVisible()
  await send(alice, 'hi bob, from across the network')
  await expect(messages(bob).filter({ hasText: 'hi bob, from across the network' })).toHaveAttribute('data-publisher', 'alice')
  await send(bob, 'hi alice')
  await expect(messages(alice).filter({ hasText: 'hi alice' })).toHaveAttribute('data-publisher', 'bob')

  // The relay link is a secure WebSocket to the LAN address (socket.io upgraded).
  expect(sockets.length).toBeGreaterThan(0)
  for (const url of sockets) expect(url).toMatch(new RegExp(`^wss://${RELAY_ADDRESS.replaceAll('.', '\\.')}:${LAN_PORT}/`))
  for (const context of contexts) await context.close()
})

test('two browsers hold a video call: each sees the other’s video advancing', async ({ browser }) => {
  // Two browsers encoding and decoding video on a shared 2-core box: every step waits on a condition, but slowly under load.
  test.setTimeout(120_000)
  const contexts = [await newContext(browser), await newContext(browser)]
  const a = await openAppAs(await contexts[0].newPage(), base(), 'alice-call')
  const b = await openAppAs(await contexts[1].newPage(), base(), 'bob-call')
  await expect(peerRow(a, 'bob-call')).toHaveAttribute('data-state', 'WAIT')
  await connectedVideoCall(a, b, 'alice-call', 'bob-call')
  await a.getByTestId('calls-hangup').click()
  await expect(b.getByTestId('calls-session-state')).toHaveAttribute('data-state', 'CLOSED')
  for (const context of contexts) await context.close()
})

test('tabs mode from the HTTPS build: two tabs elect a coordinator and chat, with no relay connection', async ({ browser }) => {
  const context = await newContext(browser)
  const sockets: string[] = []
  context.on('page', (page) => page.on('websocket', (socket) => sockets.push(socket.url())))
  const app = `lan-tabs-${Date.now()}`
  const [ann, ben] = await openCoordinatedTabs(context, ['ann', 'ben'], (user) => `${relay.url}?mode=tabs&user=${user}&app=${app}`)

  await send(ben, 'hello from tab ben')
  await expect(messages(ann).filter({ hasText: 'hello from tab ben' })).toHaveAttribute('data-publisher', 'ben')
  await send(ann, 'hello from tab ann')
  await expect(messages(ben).filter({ hasText: 'hello from tab ann' })).toHaveAttribute('data-publisher', 'ann')
  expect(sockets).toEqual([])
  await context.close()
})

test('a restart with the same DATA_DIR serves the same certificate', async () => {
  const before = bannerFingerprint(relay.stdout)
  await relay.restart()
  const after = bannerFingerprint(relay.stdout)
  expect(after).not.toBeNull()
  expect(after).toBe(before)
  expect(await servedFingerprint()).toBe(before)
})
