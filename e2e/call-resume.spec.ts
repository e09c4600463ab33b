import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, expect, test, type Browser, type BrowserContext, type Page } from '@playwright/test'
import pino from 'pino'
import { freePort } from '../bench/lib/free-port'
import { startRelay, type Relay } from '../src/relay/server'
import { BrowserNamespace } from './browser-namespace'
import { expectRemoteFramesAdvancing, openAppAs, ring } from './calls-page'
import { RelayProcess } from './relay-process'
import { CHROMIUM_ARGS } from './chromium-args'

/**
 * Issue 12 in real Chromium: a video call between two browsers survives (a) the relay
 * being SIGKILLed and restarted, (b) one browser losing its network for 5 s, a media path
 * that alone goes down (an ICE restart through the signaling), and the coordinator going
 * away in tabs and mesh mode. Runs inside scripts/netns-run. What the pages show is
 * recorded from inside them (a MutationObserver), so a "call ended" that flashes by is
 * caught too.
 */

/** The outage of (b): an intended duration, not a wait for something. OUTAGE_MS=15000 also shows ICE going disconnected and back. */
const OUTAGE_MS = Number(process.env.OUTAGE_MS ?? 5000)
/** B's namespace (e2e/browser-namespace.ts): 10.99.43.0/24, apart from turn-call's and hosting-lan's. One at a time: the tests run in series. */
const NAMESPACE_NAME = 'skresume'
const NAMESPACE_SUBNET = 43

interface Change { at: number; value: string }
interface Recorded { endedSeen: boolean; reconnecting: Change[]; media: Change[] }

/**
 * Runs in every page before its scripts: notes whether "call ended" ever showed, and each
 * change of the call's data-reconnecting and of the media path's state, with its time.
 */
function recordCallUi(): void {
  const record: Recorded = { endedSeen: false, reconnecting: [], media: [] }
  ;(window as unknown as { callUi: Recorded }).callUi = record
  const note = (changes: Change[], value: string | null | undefined) => {
    if (value && changes.at(-1)?.value !== value) changes.push({ at: Date.now(), value })
  }
  const look = () => {
    if (document.querySelector('[data-testid=calls-ended]')) record.endedSeen = true
    note(record.reconnecting, document.querySelector('[data-testid=calls-session-state][data-reconnecting]')?.getAttribute('data-reconnecting'))
    note(record.media, document.querySelector('[data-testid=calls-connection-state]')?.textContent)
  }
  new MutationObserver(look).observe(document, { subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ['data-reconnecting', 'data-testid'] })
}

/** `value@ms` for each change since `since`. */
const timeline = (changes: Change[], since: number) => changes.filter((change) => change.at >= since).map((change) => `${change.value}@${change.at - since}`).join(' ') || 'no change'

const recorded = (page: Page) => page.evaluate(() => (window as unknown as { callUi: Recorded }).callUi)

/** When the page's call, having shown "reconnecting" after `since`, showed it no more (null: not yet). */
async function resumedAt(page: Page, since: number): Promise<number | null> {
  const changes = (await recorded(page)).reconnecting.filter((change) => change.at >= since)
  const lost = changes.findIndex((change) => change.value === 'true')
  return lost < 0 ? null : changes.slice(lost).find((change) => change.value === 'false')?.at ?? null
}

/** Call messages the page received over socket.io (`42["f",{t:"evt",event:{kind:"call",msg}}]`), with when. */
function wireCalls(page: Page): { at: number; msg: { cmd: string; sessionId?: string; state?: number } }[] {
  const seen: ReturnType<typeof wireCalls> = []
  page.on('websocket', (socket) => socket.on('framereceived', ({ payload }) => {
    if (typeof payload !== 'string' || !payload.startsWith('42')) return
    const [, frame] = JSON.parse(payload.slice(2)) as [string, { t?: string; event?: { kind?: string; msg?: { cmd: string } } }]
    if (frame?.t === 'evt' && frame.event?.kind === 'call' && frame.event.msg) seen.push({ at: Date.now(), msg: frame.event.msg })
  }))
  return seen
}

/** A page in the Calls panel, with the call messages it receives. */
interface CallPage { page: Page; wire: ReturnType<typeof wireCalls> }

async function callPage(context: BrowserContext, url: string, userId: string): Promise<CallPage> {
  const page = await context.newPage()
  await page.addInitScript(recordCallUi)
  const wire = wireCalls(page)
  await openAppAs(page, url, userId)
  return { page, wire }
}

/** `a` calls `bob` on `b`, who accepts; both show each other's video. Returns the session id. */
async function videoCall(a: CallPage, b: CallPage, bob: string): Promise<string> {
  await ring(a.page, b.page, bob)
  await b.page.getByTestId('calls-accept').click()
  for (const { page } of [a, b]) {
    await expect(page.locator('[data-testid=calls-session-state][data-state=ACTIVE]')).toBeVisible()
    await expectRemoteFramesAdvancing(page)
  }
  const active = a.wire.find(({ msg }) => msg.cmd === 'ssu' && msg.state === 3)
  expect(active).toBeDefined()
  return active!.msg.sessionId!
}

/** A call between a browser beside the relay (A) and one in a network namespace of its own (B). */
interface IsolatedCall { a: CallPage; b: CallPage; sessionId: string; namespace: BrowserNamespace }

/**
 * Runs `body` once A and B are in a video call, then closes everything. How B reaches the
 * relay: 'veth', over its link like its media, so `linkDown()` cuts both; 'loopback', on its
 * own 127.0.0.1 through `bridgeLoopback`, so `linkDown()` cuts only the media.
 */
async function withIsolatedCall(browser: Browser, signaling: 'veth' | 'loopback', [alice, bob]: [string, string], body: (call: IsolatedCall) => Promise<void>): Promise<void> {
  const namespace = await BrowserNamespace.create(NAMESPACE_NAME, NAMESPACE_SUBNET)
  let relay: Relay | null = null
  let isolated: Browser | null = null
  const contexts: BrowserContext[] = []
  try {
    relay = await startRelay({ port: 0, host: signaling === 'veth' ? '0.0.0.0' : '127.0.0.1', staticDir: 'dist', logger: pino({ level: 'silent' }) })
    const local = `http://127.0.0.1:${relay.port}` // a secure context for the browser beside the relay (and for B over the bridge)
    let remote = local
    const args = [...CHROMIUM_ARGS]
    if (signaling === 'veth') {
      remote = `http://${namespace.testAddress}:${relay.port}` // over the veth, treated as secure by flag
      args.push(`--unsafely-treat-insecure-origin-as-secure=${remote}`)
    } else {
      await namespace.bridgeLoopback(relay.port)
    }
    isolated = await chromium.launch({ executablePath: namespace.executablePath, args })
    contexts.push(await browser.newContext({ permissions: ['camera', 'microphone'] }))
    contexts.push(await isolated.newContext({ permissions: ['camera', 'microphone'] }))
    const a = await callPage(contexts[0], local, alice)
    const b = await callPage(contexts[1], remote, bob)
    const sessionId = await videoCall(a, b, bob)
    await body({ a, b, sessionId, namespace })
  } finally {
    for (const context of contexts) await context.close()
    await isolated?.close()
    await relay?.close()
    await namespace.destroy()
  }
}

test.describe.configure({ mode: 'serial' })

test('the relay is SIGKILLed mid-call and restarted on the same port: the call goes on and neither side ever shows it ended', async ({ browser }) => {
  test.setTimeout(120_000)
  const port = await freePort()
  const dataDir = mkdtempSync(join(tmpdir(), 'call-resume-relay-'))
  let relay = await RelayProcess.start(port, dataDir)
  const context = await browser.newContext({ permissions: ['camera', 'microphone'] })
  try {
    const a = await callPage(context, relay.url, 'alice-kill')
    const b = await callPage(context, relay.url, 'bob-kill')
    const sessionId = await videoCall(a, b, 'bob-kill')

    const killedAt = Date.now()
    await relay.kill()
    relay = await RelayProcess.start(port, dataDir)
    const restartedAt = Date.now()
    // Both pages claimed the call back on the new relay (it answers the two claims with ssu ACTIVE)…
    for (const side of [a, b]) {
      await expect.poll(() => side.wire.some(({ at, msg }) => at > killedAt && msg.cmd === 'ssu' && msg.sessionId === sessionId && msg.state === 3), { timeout: 30_000 }).toBe(true)
    }
    // …and each showed "reconnecting" and then not any more.
    const resumed: number[] = []
    for (const { page } of [a, b]) {
      await expect.poll(() => resumedAt(page, killedAt), { timeout: 30_000 }).not.toBeNull()
      resumed.push((await resumedAt(page, killedAt))!)
    }
    const resumeMs = Math.max(...resumed) - killedAt
    test.info().annotations.push({ type: 'resume', description: `kill → call confirmed resumed on both sides: ${resumeMs} ms (relay back up after ${restartedAt - killedAt} ms)` })
    console.log(`call resume after SIGKILL: kill → both sides reconnecting=false in ${resumeMs} ms; the new relay answered /healthz after ${restartedAt - killedAt} ms`)

    for (const { page } of [a, b]) {
      await expectRemoteFramesAdvancing(page)
      await expect(page.locator('[data-testid=calls-session-state][data-state=ACTIVE]')).toHaveAttribute('data-reconnecting', 'false')
    }
    for (const { page } of [a, b]) expect((await recorded(page)).endedSeen).toBe(false)
    for (const side of [a, b]) expect(side.wire.filter(({ msg }) => msg.cmd === 'leave' || msg.cmd === 'stop')).toEqual([])
  } finally {
    await context.close()
    await relay.stop()
    rmSync(dataDir, { recursive: true, force: true })
  }
})

test(`one browser loses its network for ${OUTAGE_MS / 1000} s mid-call: the call recovers and video flows again both ways`, async ({ browser }) => {
  test.setTimeout(120_000)
  await withIsolatedCall(browser, 'veth', ['alice-net', 'bob-net'], async ({ a, b, sessionId, namespace }) => {
    const cutAt = Date.now()
    await namespace.linkDown()
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS)) // the outage itself
    await namespace.linkUp()
    const backAt = Date.now()

    for (const { page } of [a, b]) await expectRemoteFramesAdvancing(page)
    // Frames advancing is measured over the last moments: also make sure the call is not still recovering.
    for (const { page } of [a, b]) {
      await expect(page.locator('[data-testid=calls-session-state][data-state=ACTIVE]')).toHaveAttribute('data-reconnecting', 'false', { timeout: 30_000 })
      expect((await recorded(page)).endedSeen).toBe(false)
    }
    const restarts = b.wire.filter(({ at, msg }) => at > cutAt && msg.cmd === 'call' && msg.sessionId === sessionId).length
    const [ui, bui] = [await recorded(a.page), await recorded(b.page)]
    console.log(`network outage of ${OUTAGE_MS} ms (ms after the cut): ICE restart offers to B ${restarts}; ` +
      `A reconnecting ${timeline(ui.reconnecting, cutAt)}, media ${timeline(ui.media, cutAt)}; ` +
      `B reconnecting ${timeline(bui.reconnecting, cutAt)}, media ${timeline(bui.media, cutAt)}; ` +
      `video advancing on both within ${Date.now() - backAt} ms of the link coming back`)
  })
})

test('only the media path goes down (the signaling stays up): the caller restarts ICE on the session, the callee answers, and video flows again', async ({ browser }) => {
  test.setTimeout(120_000)
  await withIsolatedCall(browser, 'loopback', ['alice-ice', 'bob-ice'], async ({ a, b, sessionId, namespace }) => {
    const cutAt = Date.now()
    await namespace.linkDown()
    // Down until the restart went through the signaling: A's new offer reached B and B's answer came back.
    await expect.poll(() => b.wire.some(({ at, msg }) => at > cutAt && msg.cmd === 'call' && msg.sessionId === sessionId), { timeout: 45_000 }).toBe(true)
    await expect.poll(() => a.wire.some(({ at, msg }) => at > cutAt && msg.cmd === 'accept' && msg.sessionId === sessionId), { timeout: 15_000 }).toBe(true)
    const restartedAt = Date.now()
    await namespace.linkUp()

    for (const { page } of [a, b]) await expectRemoteFramesAdvancing(page)
    for (const { page } of [a, b]) {
      await expect(page.locator('[data-testid=calls-session-state][data-state=ACTIVE]')).toHaveAttribute('data-reconnecting', 'false', { timeout: 30_000 })
      const ui = await recorded(page)
      expect(ui.endedSeen).toBe(false)
      expect(ui.media.filter((change) => change.at >= cutAt).map((change) => change.value)).toEqual(['disconnected', 'connected'])
      expect(ui.reconnecting.filter((change) => change.at >= cutAt).map((change) => change.value)).toContain('true')
    }
    // (Chromium closes its WebSockets on any interface change, even one to loopback: B's SDK
    // reconnects at once and claims the call back, a blip of ~150 ms on top of the media outage.)
    for (const side of [a, b]) expect(side.wire.filter(({ at, msg }) => at > cutAt && (msg.cmd === 'leave' || msg.cmd === 'stop'))).toEqual([])
    const [ui, bui] = [await recorded(a.page), await recorded(b.page)]
    console.log(`media-only outage (ms after the cut): restart answered at ${restartedAt - cutAt}, link back then; ` +
      `A media ${timeline(ui.media, cutAt)}, reconnecting ${timeline(ui.reconnecting, cutAt)}; B media ${timeline(bui.media, cutAt)}, reconnecting ${timeline(bui.reconnecting, cutAt)}`)
  })
})

test('tabs mode: the coordinator tab (not in the call) closes and a party’s tab takes over: both claim the call there and it goes on', async ({ browser }) => {
  test.setTimeout(120_000)
  const relay = await startRelay({ port: 0, host: '127.0.0.1', staticDir: 'dist', logger: pino({ level: 'silent' }) })
  const context = await browser.newContext({ permissions: ['camera', 'microphone'] })
  try {
    const app = `tabs-call-${Date.now()}`
    const open = async (userId: string) => {
      const page = await context.newPage()
      await page.addInitScript(recordCallUi)
      await page.goto(`${relay.url}/?user=${userId}&mode=tabs&app=${app}#calls`)
      await page.getByTestId('calls-my-sid').filter({ hasText: userId }).waitFor()
      return { page, wire: [] }
    }
    const carol = await open('carol-tabs')
    await expect(carol.page.getByTestId('header-coordinator')).toContainText('this tab')
    const a = await open('alice-tabs')
    const b = await open('bob-tabs')
    await videoCallInTabs(a.page, b.page, 'bob-tabs')

    const closedAt = Date.now()
    await carol.page.close({ runBeforeUnload: true })
    for (const { page } of [a, b]) await expect.poll(() => resumedAt(page, closedAt), { timeout: 30_000 }).not.toBeNull()
    const coordinators = await Promise.all([a, b].map(({ page }) => page.getByTestId('header-coordinator').textContent()))
    expect(coordinators.filter((text) => text?.startsWith('this tab'))).toHaveLength(1)
    for (const { page } of [a, b]) {
      await expectRemoteFramesAdvancing(page)
      expect((await recorded(page)).endedSeen).toBe(false)
    }
    const resumed = Math.max(...(await Promise.all([a, b].map(({ page }) => resumedAt(page, closedAt)))).map(Number)) - closedAt
    console.log(`tabs failover mid-call: coordinator tab closed → call re-bound on both sides in ${resumed} ms`)
  } finally {
    await context.close()
    await relay.close()
  }
})

/** `a` calls `bob` on `b` through the Calls panel; both show each other's video. */
async function videoCallInTabs(a: Page, b: Page, bob: string): Promise<void> {
  await ring(a, b, bob)
  await b.getByTestId('calls-accept').click()
  for (const page of [a, b]) {
    await expect(page.locator('[data-testid=calls-session-state][data-state=ACTIVE]')).toBeVisible()
    await expectRemoteFramesAdvancing(page)
  }
}

test('mesh mode: the coordinating browser (not in the call) goes away and another takes over: the call goes on', async ({ browser }) => {
  test.setTimeout(120_000)
  const relay = await startRelay({ port: 0, host: '127.0.0.1', staticDir: 'dist', logger: pino({ level: 'silent' }) })
  const contexts: BrowserContext[] = []
  try {
    const app = `mesh-resume-${Date.now()}`
    const open = async (userId: string) => {
      const context = await browser.newContext({ permissions: ['camera', 'microphone'] })
      contexts.push(context)
      const page = await context.newPage()
      await page.addInitScript(recordCallUi)
      await page.goto(`${relay.url}/?user=${userId}&mode=mesh&app=${app}#calls`)
      await expect(page.getByTestId('link-state')).toHaveAttribute('data-state', 'CONNECTED')
      await page.getByTestId('calls-my-sid').filter({ hasText: userId }).waitFor()
      return page
    }
    const carol = await open('carol')
    await expect(carol.getByTestId('header-coordinator')).toContainText('this browser')
    const a = await open('alice')
    const b = await open('bob')
    await videoCallInTabs(a, b, 'bob')

    const closedAt = Date.now()
    await contexts[0].close()
    for (const page of [a, b]) await expect.poll(() => resumedAt(page, closedAt), { timeout: 45_000 }).not.toBeNull()
    for (const page of [a, b]) {
      await expectRemoteFramesAdvancing(page)
      expect((await recorded(page)).endedSeen).toBe(false)
    }
    const resumed = Math.max(...(await Promise.all([a, b].map((page) => resumedAt(page, closedAt)))).map(Number)) - closedAt
    console.log(`mesh failover mid-call: coordinating browser closed → call re-bound on both sides in ${resumed} ms`)
  } finally {
    for (const context of contexts) await context.close()
    await relay.close()
  }
})
