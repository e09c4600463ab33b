import { expect, test, type Browser, type BrowserContext, type Page } from '@playwright/test'
import pino from 'pino'
import WebSocket from 'ws'
import { ClientCallState, type CallServerMessage } from '../src/protocol/calls'
import { startRelay, type Relay } from '../src/relay/server'
import { connectedVideoCall, openAppAs, peerRow } from './calls-page'
import { messages, person, send, signInAs } from './chat-page'
import { fetchText, Nginx } from './hosting/nginx'

/**
 * Issue 18, hosted for real: the relay mounted at /signal (BASE_PATH) behind Debian's nginx
 * with TLS, configured by deploy/nginx/signal-kit.conf as users copy it. Everything goes
 * through https://127.0.0.1:PORT/signal/: the page, socket.io, /ws/calls and PeerJS. Runs
 * inside scripts/netns-run (WebRTC needs the namespace's veth). The certificate is
 * self-signed, so browser contexts ignore certificate errors (the page is still a secure
 * context: camera and Web Locks work) and Node clients trust it as their CA. The test is
 * Playwright's own, not ./fixtures': this file starts its relay itself (with a base path).
 */

/** Low enough to reach from one test, high enough for the browsers (all from 127.0.0.1) of the others. */
const CONNECTIONS_PER_ADDRESS = 20
/** A raw socket's upgrade or awaited frame: well past what a loaded box needs, short of the test timeout. */
const SOCKET_WAIT_MS = 10_000

let relay: Relay
let nginx: Nginx
/** The app's address through nginx, without a trailing slash. */
let app: string
const contexts: BrowserContext[] = []
const sockets: WebSocket[] = []

test.beforeAll(async () => {
  relay = await startRelay({
    port: 0, host: '127.0.0.1', staticDir: 'dist', logger: pino({ level: 'silent' }),
    basePath: '/signal', trustProxy: ['loopback'], maxConnectionsPerAddress: CONNECTIONS_PER_ADDRESS,
    // No localhost allowance: the page gets in only as its own origin, which needs nginx to pass Host on unchanged.
    allowedOrigins: ['https://nobody.example'],
  })
  nginx = await Nginx.start({ upstreamPort: relay.port })
  app = `${nginx.httpsUrl}/signal`
})

test.afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.terminate()
  for (const context of contexts.splice(0)) await context.close()
})

test.afterAll(async () => {
  await nginx?.stop()
  await relay?.close()
})

/** A browser context of its own (own storage, own sockets) that accepts the test certificate. */
async function newContext(browser: Browser): Promise<BrowserContext> {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, permissions: ['camera', 'microphone'] })
  contexts.push(context)
  return context
}

/** Signs `userId` in, through the form or with `?user=` (plus `query`), and waits for the link. */
async function signIn(browser: Browser, userId: string, how: { viaForm?: boolean; query?: string } = {}): Promise<Page> {
  return signInAs(await (await newContext(browser)).newPage(), app, userId, how)
}

/** Both see each other online and each one's message reaches the other. */
async function chatBothWays(alice: Page, bob: Page) {
  await expect(person(alice, 'bob')).toBeVisible()
  await expect(person(bob, 'alice')).toBeVisible()
  await send(alice, 'hi bob, via nginx')
  await expect(messages(bob).filter({ hasText: 'hi bob, via nginx' })).toHaveAttribute('data-publisher', 'alice')
  await send(bob, 'hi alice, via nginx')
  await expect(messages(alice).filter({ hasText: 'hi alice, via nginx' })).toHaveAttribute('data-publisher', 'bob')
}

/** Opens a /ws/calls socket through nginx, from `localAddress` (a loopback address) if given. */
function openCallsSocket(query: string, localAddress?: string): WebSocket {
  const socket = new WebSocket(`${app.replace('https:', 'wss:')}/ws/calls?${query}`, { ca: nginx.ca, localAddress })
  socket.on('error', () => undefined) // a refused or terminated handshake; upgradeOutcome reports what matters
  sockets.push(socket)
  return socket
}

/** Resolves 'open', or the HTTP status the upgrade was refused with. */
function upgradeOutcome(socket: WebSocket): Promise<'open' | number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no upgrade answer from ${socket.url} in ${SOCKET_WAIT_MS} ms`)), SOCKET_WAIT_MS)
    const settle = (outcome: 'open' | number) => { clearTimeout(timer); resolve(outcome) }
    socket.once('open', () => settle('open'))
    socket.once('unexpected-response', (_request, response) => settle(response.statusCode ?? 0))
    socket.once('error', (error) => { clearTimeout(timer); reject(error) }) // settles nothing once open or refused
  })
}

/** The first message from `socket` that `match` accepts; fails with what came instead after SOCKET_WAIT_MS. */
function nextMessage(socket: WebSocket, match: (msg: CallServerMessage) => boolean): Promise<CallServerMessage> {
  const seen: CallServerMessage[] = []
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off('message', onMessage)
      reject(new Error(`no matching message in ${SOCKET_WAIT_MS} ms; saw ${JSON.stringify(seen)}`))
    }, SOCKET_WAIT_MS)
    const onMessage = (data: WebSocket.RawData) => {
      const msg = JSON.parse(data.toString()) as CallServerMessage
      if (!match(msg)) return void seen.push(msg)
      clearTimeout(timer)
      socket.off('message', onMessage)
      resolve(msg)
    }
    socket.on('message', onMessage)
  })
}

test('chat through nginx over https: two users sign in (one with the form), see each other and talk both ways', async ({ browser }) => {
  const alice = await signIn(browser, 'alice', { viaForm: true })
  const bob = await signIn(browser, 'bob')
  expect(alice.url().startsWith(`${app}/`)).toBe(true)
  await expect(alice.getByTestId('header-mode')).toHaveText('relay')
  // The page found its relay from its own address: the proxy's origin and the /signal prefix.
  await expect(alice.getByTestId('header-coordinator')).toHaveText(app)
  await chatBothWays(alice, bob)
})

test('a video call between two tabs through nginx: signaling over the proxied socket, remote frames advance on both sides', async ({ browser }) => {
  const context = await newContext(browser)
  const a = await openAppAs(await context.newPage(), app, 'alice-call')
  const b = await openAppAs(await context.newPage(), app, 'bob-call')
  await connectedVideoCall(a, b, 'alice-call', 'bob-call')
  await a.getByTestId('calls-hangup').click()
  await expect(b.getByTestId('calls-session-state')).toHaveAttribute('data-state', 'CLOSED')
  await expect(peerRow(a, 'bob-call')).toHaveAttribute('data-state', 'WAIT')
})

test('a plain seed-002 WebSocket client registers over wss through nginx and sees another one in the list', async () => {
  const first = openCallsSocket('appId=hosting-raw')
  const second = openCallsSocket('appId=hosting-raw')
  expect(await Promise.all([upgradeOutcome(first), upgradeOutcome(second)])).toEqual(['open', 'open'])

  const registered = nextMessage(first, (msg) => msg.cmd === 'sId')
  first.send(JSON.stringify({ cmd: 'sId', sId: 'raw-one' }))
  expect(await registered).toEqual({ cmd: 'sId', sId: 'raw-one' })
  const listed = nextMessage(first, (msg) => msg.cmd === 'clu' && msg.list.some((entry) => entry.sId === 'raw-two'))
  second.send(JSON.stringify({ cmd: 'sId', sId: 'raw-two' }))
  expect(await listed).toMatchObject({ cmd: 'clu', list: expect.arrayContaining([{ sId: 'raw-two', state: ClientCallState.WAIT }]) })
})

test('mesh mode through nginx: PeerJS at /signal/peerjs, two browsers elect a coordinator, sign in and chat', async ({ browser }) => {
  const appId = `hosting-mesh-${Date.now()}`
  const query = `&mode=mesh&app=${appId}`
  const alice = await signIn(browser, 'alice', { query })
  const bob = await signIn(browser, 'bob', { query })
  for (const page of [alice, bob]) await expect(page.getByTestId('header-mode')).toHaveText('mesh')
  // One browser holds the coordinator id at the broker; the other reached it through it.
  const coordinators = [await alice.getByTestId('header-coordinator').textContent(), await bob.getByTestId('header-coordinator').textContent()]
  expect(coordinators.filter((text) => text?.startsWith('this browser'))).toHaveLength(1)
  expect(coordinators).toContain(`peer ${appId}-coordinator`)
  await chatBothWays(alice, bob)
})

test('healthz answers through nginx, plain http redirects to https, and the relay counts connections per forwarded client address', async () => {
  const health = await fetchText(`${app}/healthz`, { ca: nginx.ca })
  expect(health.status).toBe(200)
  expect(JSON.parse(health.body)).toMatchObject({ status: 'ok' })

  // Without the trailing slash the page's relative asset URLs would miss the prefix: nginx redirects.
  const bare = await fetchText(app, { ca: nginx.ca })
  expect(bare.status).toBe(301)
  expect(bare.headers.location).toBe(`${app}/`)

  // Port 80 of the site file: everything but the ACME challenge goes to https.
  const plain = await fetchText(`${nginx.httpUrl}/signal/?user=x`)
  expect(plain.status).toBe(301)
  expect(plain.headers.location).toBe('https://127.0.0.1/signal/?user=x')
  expect((await fetchText(`${nginx.httpUrl}/.well-known/acme-challenge/missing-token`)).status).toBe(404)

  // Every socket reaches the relay from nginx (127.0.0.1); X-Forwarded-For names the client.
  // Clients on 127.0.0.2 fill their own allowance and are refused (429); 127.0.0.3 is not.
  const full = Array.from({ length: CONNECTIONS_PER_ADDRESS }, () => openCallsSocket('appId=hosting-xff', '127.0.0.2'))
  expect(await Promise.all(full.map(upgradeOutcome))).toEqual(full.map(() => 'open'))
  expect(await upgradeOutcome(openCallsSocket('appId=hosting-xff', '127.0.0.2'))).toBe(429)
  expect(await upgradeOutcome(openCallsSocket('appId=hosting-xff', '127.0.0.3'))).toBe('open')
})
