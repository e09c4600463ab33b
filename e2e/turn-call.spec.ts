import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, expect, test, type Browser, type Page } from '@playwright/test'
import { SignJWT } from 'jose'
import pino from 'pino'
import { selfSignedCertificate } from '../src/relay/lan'
import { startRelay, type Relay } from '../src/relay/server'
import { BrowserNamespace } from './browser-namespace'
import { expectRemoteFramesAdvancing, peerRow, ring } from './calls-page'
import { messages, send } from './chat-page'
import { Coturn } from './turn/coturn'

/**
 * Issue 12: two browsers that cannot reach each other hold a video call through a real
 * coturn. Each Chromium runs in a network namespace of its own (e2e/browser-namespace.ts);
 * both reach the test's namespace, where the relay (HTTPS, TOKEN_SECRET set) and coturn
 * listen on 10.99.0.1, but no packet goes from one browser's namespace to the other's. Each
 * user signs in with a login token, the page fetches its TURN credentials from the relay
 * (`GET /ice-servers`), and ICE can only succeed through coturn: the call connects, remote
 * frames advance, and the Calls panel shows a selected candidate pair with a relay end. In
 * mesh mode the same holds for the PeerJS data channel from a follower to the coordinator.
 */

const ADDRESS = '10.99.0.1'
const TOKEN_SECRET = 'e2e-token-secret'
const TURN_SECRET = 'e2e-turn-secret'
const APP = 'turn-e2e'
const CHROMIUM_ARGS = ['--no-sandbox', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', '--disable-background-networking', '--disable-gpu']

test.describe.configure({ mode: 'serial' })

let coturn: Coturn
let relay: Relay
let certDir: string
const namespaces: BrowserNamespace[] = []
const browsers: Browser[] = []

test.beforeAll(async () => {
  test.skip(!Coturn.available(), 'coturn is not installed (apt-get install coturn)')
  test.setTimeout(60_000)
  // A namespace forwards nothing unless told to: the browsers' namespaces meet only here.
  expect(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim()).toBe('0')
  coturn = await Coturn.start({ address: ADDRESS, secret: TURN_SECRET })
  certDir = mkdtempSync(join(tmpdir(), 'turn-call-cert-'))
  const tls = await selfSignedCertificate(certDir, [ADDRESS])
  relay = await startRelay({
    port: 0, host: ADDRESS, tls, staticDir: 'dist', tokenSecret: TOKEN_SECRET, logger: pino({ level: 'silent' }),
    ice: { servers: [], turn: { secret: TURN_SECRET, urls: [coturn.url], ttlSeconds: 600 } },
  })
  for (const [name, subnet] of [['skturna', 41], ['skturnb', 42]] as const) {
    const namespace = await BrowserNamespace.create(name, subnet)
    namespaces.push(namespace)
    browsers.push(await chromium.launch({ executablePath: namespace.executablePath, args: CHROMIUM_ARGS }))
  }
})

test.afterAll(async () => {
  // Every step runs even if one fails (browsers before their namespaces); the first failure is reported.
  const steps = [
    ...browsers.splice(0).map((browser) => () => browser.close()),
    ...namespaces.splice(0).map((namespace) => () => namespace.destroy()),
    async () => relay?.close(),
    async () => coturn?.stop(),
    async () => { if (certDir) rmSync(certDir, { recursive: true, force: true }) },
  ]
  const failures: unknown[] = []
  for (const step of steps) await step().catch((error: unknown) => failures.push(error))
  if (failures.length > 0) throw failures[0]
})

const token = (userId: string, appId = APP) =>
  new SignJWT({ appId }).setProtectedHeader({ alg: 'HS256' }).setSubject(userId).setExpirationTime('1h').sign(new TextEncoder().encode(TOKEN_SECRET))

/** Signs in through the form with a login token and waits for the page's TURN credentials. */
async function signIn(browser: Browser, userId: string, mode: 'relay' | 'mesh' = 'relay', appId = APP): Promise<Page> {
  // Like a user who clicked through the self-signed certificate warning.
  const context = await browser.newContext({ ignoreHTTPSErrors: true, permissions: ['camera', 'microphone'] })
  const page = await context.newPage()
  await page.goto(`${relay.url}/`)
  await page.getByTestId('signin-user').fill(userId)
  await page.getByTestId('signin-app').fill(appId)
  await page.getByTestId('signin-mode').selectOption(mode)
  await page.getByTestId('signin-token').fill(await token(userId, appId))
  const served = page.waitForResponse((response) => response.url().includes('/ice-servers?'))
  await page.getByTestId('signin-submit').click()
  const answer = await served
  expect(answer.status()).toBe(200)
  expect((await answer.json() as { iceServers: { username?: string }[] }).iceServers.map((server) => server.username)).toEqual([expect.stringMatching(new RegExp(`^\\d+:${userId}$`))])
  await expect(page.getByTestId('link-state')).toHaveText('CONNECTED')
  return page
}

async function openCalls(page: Page, userId: string): Promise<Page> {
  await page.getByTestId('tab-calls').click()
  await page.getByTestId('calls-my-sid').filter({ hasText: userId }).waitFor()
  return page
}

test('two browsers with no route between them call each other through coturn', async () => {
  const a = await openCalls(await signIn(browsers[0], 'alice'), 'alice')
  const b = await openCalls(await signIn(browsers[1], 'bob'), 'bob')
  await expect(peerRow(a, 'bob')).toHaveAttribute('data-state', 'WAIT')
  await ring(a, b, 'bob')
  await b.getByTestId('calls-accept').click()
  for (const page of [a, b]) {
    await expect(page.getByTestId('calls-session-state')).toHaveAttribute('data-state', 'ACTIVE')
    await expectRemoteFramesAdvancing(page)
    await expect(page.getByTestId('calls-connection-state')).toHaveText('connected')
  }
  // Media flows through TURN: one end of each side's selected pair is an address coturn relays
  // on (with host candidates only this call could not connect). Chromium stops gathering once a
  // pair works, so the side that answered may have no relay candidate of its own: A's serves both.
  for (const page of [a, b]) {
    const pair = page.getByTestId('calls-selected-pair')
    await expect(pair).toHaveAttribute('data-local-type', /.+/)
    expect([await pair.getAttribute('data-local-type'), await pair.getAttribute('data-remote-type')]).toContain('relay')
    await expect(pair).toContainText(new RegExp(`relay (udp )?${ADDRESS.replaceAll('.', '\\.')}:\\d+`))
  }
  // Their host candidates were exchanged and would have won on priority, had any packet got through.
  await expect(a.locator('[data-testid=ice-remote][data-type=host]').first()).toBeAttached()
  await a.getByTestId('calls-hangup').click()
  await expect(b.getByTestId('calls-ended')).toBeAttached()
})

test('mesh mode: the follower browser reaches the coordinator browser over a data channel through coturn', async () => {
  const appId = `${APP}-mesh`
  const a = await signIn(browsers[0], 'carol', 'mesh', appId)
  await expect(a.getByTestId('header-coordinator')).toContainText('this browser')
  // B's only way to the coordinating browser is a PeerJS data channel, and its only path is coturn.
  const b = await signIn(browsers[1], 'dave', 'mesh', appId)
  await expect(b.getByTestId('header-coordinator')).toContainText(`peer ${appId}-coordinator`)
  await send(b, 'hello through TURN')
  await expect(messages(a).filter({ hasText: 'hello through TURN' })).toBeVisible()
})
