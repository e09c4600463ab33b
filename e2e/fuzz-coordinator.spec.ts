import fc from 'fast-check'
import type { BrowserContext, Page } from '@playwright/test'
import { FUZZ_PAGE_FRAMES, FUZZ_SEED } from '../test/fuzz/config'
import { envelopeBatch, linkPrelude, owedAnswer, type EnvelopeContext, type PageItem } from '../test/fuzz/envelope-frames'
import type { NativeContext } from '../test/fuzz/native-frames'
import { coordinatorOf, expect, openClient, test } from './serverless'

/**
 * A coordinator page (tabs mode: BroadcastChannel; mesh mode: PeerJS data channel) under
 * generated and mutated envelopes from a page that speaks only as itself (issue 11, fuzz
 * suite). Frames are generated in Node with fast-check and posted by a fuzz page in
 * batches. Asserted: no page error or crash in the coordinator or the clients' pages, the
 * coordinator keeps its seat, clients in other pages keep chatting, and every well-formed
 * request on the fuzz page's links is answered (or its link closed).
 */

const BATCH = 100
const LINKS = 4
/** How long the requests of one batch may take to be answered. */
const ANSWER_TIMEOUT_MS = 15_000

console.info(`fuzz-coordinator: ${FUZZ_PAGE_FRAMES} envelopes per mode, seed ${FUZZ_SEED}`)

interface FuzzState {
  answered: Record<string, number>
  closedLinks: string[]
  welcomed: string[]
  sent: number
  connectionClosed: boolean
}

interface FuzzerOptions {
  mode: 'tabs' | 'mesh'
  appId: string
  self: string
  coordinator: string
  links: string[]
  broker?: { host: string; port: number; path: string }
}

declare global {
  var fuzzer: {
    state: FuzzState
    /** Posts the items; `owed[i]` is the `link:id` whose answer item i asks for (or null). Returns the indexes it could not post. */
    send(items: PageItem[], owed: (string | null)[]): number[]
    /** Requests still owed an answer: neither answered nor excused by a close of their link after they were sent. */
    missing(): string[]
    hello(link: string): void
  }
}

/**
 * Runs in the fuzz page: joins the coordinator's bus as peer `self` (tabs: the app's
 * BroadcastChannel, holding `tab:<self>` like a real tab; mesh: a PeerJS data channel to
 * the coordinator id, confirming replicated commits like a real follower) and records the
 * answers addressed to its links.
 */
async function installFuzzer(options: FuzzerOptions): Promise<void> {
  const state: FuzzState = { answered: {}, closedLinks: [], welcomed: [], sent: 0, connectionClosed: false }
  let post: (value: unknown) => void = () => undefined
  let sendRaw: (bytes: Uint8Array<ArrayBuffer>) => void = () => undefined
  /** Mesh: a post's JSON text sent as one codec message as is, for values our encoder refuses (nested too deep). */
  let sendText: ((text: string) => void) | null = null
  const onEnvelope = (raw: unknown) => {
    if (typeof raw !== 'object' || raw === null) return
    const envelope = raw as { kind?: unknown; to?: unknown; link?: unknown; targets?: unknown; frame?: { t?: unknown; id?: unknown }; seq?: unknown }
    if (envelope.kind === 'frame' && Array.isArray(envelope.targets)) {
      for (const target of envelope.targets) {
        if (typeof target !== 'string' || !target.startsWith(`${options.self}/`) || envelope.frame?.t !== 'res') continue
        const key = `${target.slice(options.self.length + 1)}:${String(envelope.frame.id)}`
        state.answered[key] = (state.answered[key] ?? 0) + 1
      }
      return
    }
    if (envelope.to !== options.self) return
    if (envelope.kind === 'welcome') state.welcomed.push(String(envelope.link))
    if (envelope.kind === 'close' && options.links.includes(String(envelope.link))) {
      // The engine closes a link (a login elsewhere took its session over): open it again, as an SDK would.
      state.closedLinks.push(String(envelope.link))
      post({ kind: 'hello', from: options.self, to: options.coordinator, link: envelope.link })
    }
    if (envelope.kind === 'replicate') post({ kind: 'replicated', from: options.self, to: options.coordinator, seq: envelope.seq })
  }
  if (options.mode === 'tabs') {
    // Held for the page's life: the coordinator learns of this tab's death by being granted it.
    void navigator.locks.request(`tab:${options.self}`, () => new Promise<void>(() => undefined))
    const channel = new BroadcastChannel(`rtm-tabs:${options.appId}`)
    channel.onmessage = (event) => onEnvelope(event.data)
    post = (value) => channel.postMessage(value)
  } else {
    // Served and bundled by the harness's Vite server; a plain import() here would be rewritten by the test's compiler.
    const load = new Function('url', 'return import(url)') as (url: string) => Promise<typeof import('../test/fuzz/page-peer')>
    const { Peer } = await load('/test/fuzz/page-peer.ts')
    // The mesh codec over PeerJS's raw serialization, as a real follower speaks it.
    const codec = await (load as unknown as (url: string) => Promise<typeof import('../src/host/peer-codec')>)('/src/host/peer-codec.ts')
    const peer = new Peer(options.self, { ...options.broker!, key: 'peerjs', config: { iceServers: [] }, debug: 0 })
    await new Promise<void>((resolve, reject) => { peer.once('open', () => resolve()); peer.once('error', reject) })
    const connection = peer.connect(options.coordinator, { reliable: true, serialization: codec.PEER_SERIALIZATION })
    await new Promise<void>((resolve, reject) => {
      setTimeout(() => reject(new Error('no data channel to the coordinator')), 10_000)
      connection.once('open', () => resolve())
      connection.once('error', reject)
    })
    const decoder = new codec.PeerMessageDecoder(codec.MAX_TO_FOLLOWER_CHARS)
    connection.on('data', (data) => {
      const decoded = decoder.push(data)
      if (decoded.kind === 'value') onEnvelope(decoded.value)
    })
    connection.on('close', () => { state.connectionClosed = true })
    post = (value) => { for (const piece of codec.encodePeerMessage(value)) void connection.send(piece) }
    sendRaw = (bytes) => connection.dataChannel.send(bytes)
    sendText = (text) => connection.dataChannel.send(`=${text}`)
  }
  /** JSON.parse, then the bytes back where their placeholders are (shallow parts only: deep ones hold none). */
  const revive = (text: string, bytes: number[][]): unknown => {
    const root: { value: unknown } = { value: JSON.parse(text) as unknown }
    const stack: [Record<string, unknown>, number][] = [[root, 0]]
    while (stack.length > 0) {
      const [node, depth] = stack.pop()!
      for (const key of Object.keys(node)) {
        const child = node[key] as { _placeholder?: unknown; num?: unknown } | null
        if (typeof child !== 'object' || child === null || depth > 40) continue
        if (child._placeholder === true && typeof child.num === 'number') node[key] = new Uint8Array(bytes[child.num] ?? [])
        else stack.push([child as Record<string, unknown>, depth + 1])
      }
    }
    return root.value
  }
  const owedCounts = new Map<string, number>()
  /** How often a request's link had been closed when it was sent: a later close excuses it. */
  const closesAtSend = new Map<string, number>()
  const closesOf = (link: string) => state.closedLinks.filter((closed) => closed === link).length
  globalThis.fuzzer = {
    state,
    send(items, owed) {
      const failed: number[] = []
      items.forEach((item, index) => {
        try {
          if (item.kind === 'raw') sendRaw(new Uint8Array(item.bytes))
          else {
            try {
              post(revive(item.post.text, item.post.bytes))
            } catch (error) {
              if (!sendText) throw error
              sendText(item.post.text)
            }
          }
          state.sent++
        } catch {
          failed.push(index) // e.g. structured clone overflowing on a 20,000-deep value, in this page
          return
        }
        const key = owed[index]
        if (!key) return
        owedCounts.set(key, (owedCounts.get(key) ?? 0) + 1)
        closesAtSend.set(key, closesOf(key.split(':')[0]))
      })
      return failed
    },
    missing() {
      if (state.connectionClosed) return []
      return [...owedCounts].filter(([key, count]) => (state.answered[key] ?? 0) < count && closesOf(key.split(':')[0]) <= (closesAtSend.get(key) ?? 0)).map(([key]) => key)
    },
    hello(link) {
      post({ kind: 'hello', from: options.self, to: options.coordinator, link })
    },
  }
}

/** Errors and crashes of the pages that must not have any. */
function watchPages(pages: Record<string, Page>): string[] {
  const problems: string[] = []
  for (const [name, page] of Object.entries(pages)) {
    page.on('pageerror', (error) => problems.push(`${name}: ${error.message.split('\n')[0]}`))
    page.on('crash', () => problems.push(`${name}: the page crashed`))
  }
  return problems
}

/** Null when `page` runs JavaScript within `timeoutMs`, else why not (its main thread is stuck). */
async function unresponsive(page: Page, name: string, timeoutMs = 5_000): Promise<string | null> {
  const answered = page.evaluate(() => true).catch(() => false)
  const late = new Promise<false>((resolve) => setTimeout(() => resolve(false), timeoutMs))
  return (await Promise.race([answered, late])) ? null : `the ${name} page stopped running JavaScript (no answer within ${timeoutMs} ms)`
}

async function received(page: Page): Promise<string[]> {
  return page.evaluate(() => harness.messages.map((message) => `${message.publisher}:${message.message}`))
}

/** ann publishes, ben receives: the coordinator still serves its clients. */
async function chat(ann: Page, ben: Page, text: string): Promise<void> {
  await ann.evaluate((text) => harness.rtm!.publish('lobby', text).then(() => undefined), text)
  await expect.poll(() => received(ben), { timeout: 15_000 }).toContain(`ann:${text}`)
}

function randomId(): string {
  return Math.random().toString(16).slice(2, 10)
}

async function openFuzzPage(context: BrowserContext, url: string, options: FuzzerOptions): Promise<Page> {
  const page = await context.newPage()
  await page.goto(url)
  await page.evaluate(installFuzzer, options)
  // One at a time: a mesh coordinator sends each new link's follower a snapshot to confirm first.
  for (const link of options.links) {
    await page.evaluate((link) => fuzzer.hello(link), link)
    await expect.poll(() => page.evaluate((link) => fuzzer.state.welcomed.includes(link), link), { timeout: 15_000 }).toBe(true)
  }
  return page
}

/**
 * Posts FUZZ_PAGE_FRAMES envelopes in batches; after each batch waits until every request owed
 * an answer has one (or its link or connection closed); chats between the clients every
 * few batches. Returns the requests left unanswered.
 */
async function fuzz(fuzzPage: Page, ctx: EnvelopeContext, raw: boolean, salt: number, pages: { host: Page; ann: Page; ben: Page }): Promise<{ unanswered: string[]; owed: number; answered: number; unsendable: number; stuck: string | null }> {
  const { host, ann, ben } = pages
  let owed = 0
  let unsendable = 0
  const batches = Math.ceil(FUZZ_PAGE_FRAMES / BATCH)
  for (let batch = 0; batch < batches; batch++) {
    const generated = fc.sample(envelopeBatch(ctx, BATCH, raw), { numRuns: 1, seed: (FUZZ_SEED + (salt + batch) * 7919) | 0 })[0]
    const items = batch === 0 ? [...linkPrelude(ctx), ...generated] : generated
    const owedKeys = items.map((item) => (item.kind === 'post' ? owedAnswer(item.post, ctx) : null))
    const failed = new Set(await fuzzPage.evaluate(([items, owedKeys]) => fuzzer.send(items, owedKeys), [items, owedKeys] as const))
    unsendable += failed.size
    owed += owedKeys.filter((key, index) => key !== null && !failed.has(index)).length
    // A coordinator page whose JavaScript is stuck answers nothing more: stop there and say so.
    const stuck = await unresponsive(host, 'coordinator')
    if (stuck) return { unanswered: [], owed, answered: 0, unsendable, stuck: `${stuck} after batch ${batch + 1} of ${batches}` }
    await fuzzPage.waitForFunction(() => fuzzer.missing().length === 0, undefined, { timeout: ANSWER_TIMEOUT_MS, polling: 50 }).catch(() => undefined)
    if (batch % 5 === 4) await chat(ann, ben, `during ${batch}`)
  }
  const answered = await fuzzPage.evaluate(() => Object.values(fuzzer.state.answered).reduce((sum, count) => sum + count, 0))
  return { unanswered: await fuzzPage.evaluate(() => fuzzer.missing()), owed, answered, unsendable, stuck: null }
}

/** Fuzz users (one per link; any token passes: a browser coordinator has no secret) and who they reach. */
function nativeContext(appId: string): NativeContext {
  const users = Array.from({ length: LINKS }, (_, index) => `fz-${index}`)
  return {
    appId, users, tokens: Object.fromEntries(users.map((user) => [user, 'any'])), badTokens: ['', 'x'.repeat(9000)],
    room: 'lobby', callees: [...users, 'ann', 'ben'], others: ['ann', 'ben', 'host'],
  }
}

/**
 * Runs in a page: dials the coordinator id with PeerJS's default serialization (BinaryPack)
 * and, if the channel opens, sends what froze or broke the coordinator page: a BinaryPack
 * `null` and the 5-byte map header claiming 2^32−1 entries. Returns whether it opened.
 */
async function dialWithBinaryPack(options: { self: string; coordinator: string; broker: { host: string; port: number; path: string } }): Promise<boolean> {
  const load = new Function('url', 'return import(url)') as (url: string) => Promise<typeof import('../test/fuzz/page-peer')>
  const { Peer } = await load('/test/fuzz/page-peer.ts')
  const peer = new Peer(options.self, { ...options.broker, key: 'peerjs', config: { iceServers: [] }, debug: 0 })
  await new Promise<void>((resolve, reject) => { peer.once('open', () => resolve()); peer.once('error', reject) })
  const connection = peer.connect(options.coordinator, { reliable: true })
  // A refused channel never opens: give it the time an accepted one takes many times over.
  const opened = await new Promise<boolean>((resolve) => {
    setTimeout(() => resolve(false), 5_000)
    connection.once('open', () => resolve(true))
    connection.once('close', () => resolve(false))
    connection.once('error', () => resolve(false))
  })
  if (opened) {
    void connection.send(null)
    connection.dataChannel.send(new Uint8Array([0xdf, 0xff, 0xff, 0xff, 0xff]))
  }
  return opened
}

test.describe('a mesh coordinator under the frames that broke it (fixed cases)', () => {
  test('mesh: a data channel in PeerJS default serialization is refused, and null or a 5-byte map header over our codec are dropped', async ({ browser, harnessUrl, relayUrl }) => {
    const appId = `meshfix${Date.now()}`
    const contexts = await Promise.all([0, 1, 2].map(() => browser.newContext()))
    try {
      const host = await openClient(contexts[0], harnessUrl, appId, 'host', 'mesh', { url: relayUrl })
      await expect.poll(() => coordinatorOf(host), { timeout: 20_000 }).toMatch(/^this browser/)
      const problems = watchPages({ coordinator: host })
      const url = new URL(relayUrl)
      const broker = { host: url.hostname, port: Number(url.port), path: '/peerjs' }

      const binaryPage = await contexts[1].newPage()
      await binaryPage.goto(harnessUrl)
      const opened = await binaryPage.evaluate(dialWithBinaryPack, { self: `${appId}-bp${randomId()}`, coordinator: `${appId}-coordinator`, broker })
      expect(opened, 'a BinaryPack data channel is refused before it opens').toBe(false)
      expect(await unresponsive(host, 'coordinator')).toBeNull()

      // The same bytes and a null over our codec's channel: dropped, and the channel still serves.
      const links = [randomId(), randomId()]
      const self = `${appId}-fx${randomId()}`
      const fuzzPage = await openFuzzPage(contexts[2], harnessUrl, { mode: 'mesh', appId, self, coordinator: `${appId}-coordinator`, links: links.slice(0, 1), broker })
      const items: PageItem[] = [{ kind: 'raw', bytes: [0xdf, 0xff, 0xff, 0xff, 0xff] }, { kind: 'post', post: { text: 'null', bytes: [] } }, { kind: 'raw', bytes: [0xc0] }]
      expect(await fuzzPage.evaluate((items) => fuzzer.send(items, items.map(() => null)), items)).toEqual([])
      expect(await unresponsive(host, 'coordinator')).toBeNull()
      await fuzzPage.evaluate((link) => fuzzer.hello(link), links[1])
      await expect.poll(() => fuzzPage.evaluate((link) => fuzzer.state.welcomed.includes(link), links[1]), { timeout: 15_000 }).toBe(true)
      expect(problems).toEqual([])
    } finally {
      for (const context of contexts) await context.close()
    }
  })
})

test.describe('a coordinator page under fuzzed envelopes', () => {
  test('tabs: the coordinator tab keeps serving through generated and mutated BroadcastChannel envelopes', async ({ browser, harnessUrl }) => {
    test.setTimeout(120_000 + FUZZ_PAGE_FRAMES * 20)
    const appId = `tabs-fuzz-${Date.now()}`
    const context = await browser.newContext()
    try {
      const host = await openClient(context, harnessUrl, appId, 'host', 'tabs')
      await expect.poll(() => coordinatorOf(host), { timeout: 15_000 }).toMatch(/^this tab/)
      const seat = await coordinatorOf(host)
      const ann = await openClient(context, harnessUrl, appId, 'ann', 'tabs')
      const ben = await openClient(context, harnessUrl, appId, 'ben', 'tabs')
      for (const page of [host, ann, ben]) await page.evaluate(() => harness.rtm!.subscribe('lobby', { withMessage: true }))
      const problems = watchPages({ coordinator: host, ann, ben })
      await chat(ann, ben, 'before')

      const coordinator = seat.slice('this tab ('.length, -1)
      const ctx: EnvelopeContext = { self: `fuzz${randomId()}`, coordinator, links: Array.from({ length: LINKS }, randomId), native: nativeContext(appId) }
      const fuzzPage = await openFuzzPage(context, harnessUrl, { mode: 'tabs', appId, ...ctx })
      const result = await fuzz(fuzzPage, ctx, false, 1, { host, ann, ben })
      expect(result.stuck, `seed ${FUZZ_SEED}`).toBeNull()
      console.info(`tabs: ${FUZZ_PAGE_FRAMES} envelopes, ${result.owed} requests owed an answer, ${result.answered} answers, ${result.unsendable} not postable by the fuzz page`)

      await chat(ann, ben, 'after')
      expect(await coordinatorOf(host), 'the coordinator kept its seat').toBe(seat)
      expect(problems, `seed ${FUZZ_SEED}`).toEqual([])
      expect(result.unanswered.slice(0, 20), `requests never answered; seed ${FUZZ_SEED}`).toEqual([])
    } finally {
      await context.close() // a stuck page too
    }
  })

  test('mesh: the coordinator browser keeps serving through generated and mutated data-channel messages', async ({ browser, harnessUrl, relayUrl }) => {
    test.setTimeout(120_000 + FUZZ_PAGE_FRAMES * 20)
    const appId = `meshfz${Date.now()}`
    const contexts = await Promise.all([0, 1, 2, 3].map(() => browser.newContext()))
    try {
      const host = await openClient(contexts[0], harnessUrl, appId, 'host', 'mesh', { url: relayUrl })
      await expect.poll(() => coordinatorOf(host), { timeout: 20_000 }).toMatch(/^this browser/)
      const seat = await coordinatorOf(host)
      const ann = await openClient(contexts[1], harnessUrl, appId, 'ann', 'mesh', { url: relayUrl })
      const ben = await openClient(contexts[2], harnessUrl, appId, 'ben', 'mesh', { url: relayUrl })
      for (const page of [host, ann, ben]) await page.evaluate(() => harness.rtm!.subscribe('lobby', { withMessage: true }))
      const problems = watchPages({ coordinator: host, ann, ben })
      await chat(ann, ben, 'before')

      const broker = new URL(relayUrl)
      const ctx: EnvelopeContext = { self: `${appId}-fz${randomId()}`, coordinator: `${appId}-coordinator`, links: Array.from({ length: LINKS }, randomId), native: nativeContext(appId) }
      const fuzzPage = await openFuzzPage(contexts[3], harnessUrl, { mode: 'mesh', appId, ...ctx, broker: { host: broker.hostname, port: Number(broker.port), path: '/peerjs' } })
      const result = await fuzz(fuzzPage, ctx, true, 2, { host, ann, ben })
      expect(result.stuck, `seed ${FUZZ_SEED}; problems so far: ${problems.join(' | ')}`).toBeNull()
      console.info(`mesh: ${FUZZ_PAGE_FRAMES} messages, ${result.owed} requests owed an answer, ${result.answered} answers, ${result.unsendable} not sendable by the fuzz page`)

      await chat(ann, ben, 'after')
      expect(await coordinatorOf(host), 'the coordinator kept its seat').toBe(seat)
      expect(problems, `seed ${FUZZ_SEED}`).toEqual([])
      expect(result.unanswered.slice(0, 20), `requests never answered; seed ${FUZZ_SEED}`).toEqual([])
    } finally {
      for (const context of contexts) await context.close() // a stuck page too
    }
  })
})
