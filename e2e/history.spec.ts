import type { BrowserContext, Page } from '@playwright/test'
import { coordinatorOf, coordinatorPage, expect, openClient, test } from './serverless'

/**
 * Message history and gap-free recovery (issue 16) in the serverless modes: what a tab
 * missed while it was frozen comes back in order, once, before anything newer; a failover
 * mid-stream loses and repeats nothing acknowledged; the history outlives its coordinator.
 *
 * 300 stored publishes from one user fit PUBLISH_RATE (60/s, bursts of 120) as a burst of
 * 100 and then one every 20 ms (50/s): about 4 s.
 */

/** What a test page sees of one delivered message (harness.messages). */
interface Seen { publisher: string; message: string; offset?: number; epoch?: string; recovered: boolean }

async function tabs(context: BrowserContext, url: string, appId: string, users: string[]): Promise<Page[]> {
  const pages: Page[] = []
  for (const user of users) pages.push(await openClient(context, url, appId, user, 'tabs'))
  for (const page of pages) await page.evaluate(() => harness.rtm!.subscribe('lobby', { withMessage: true }))
  return pages
}

function seen(page: Page): Promise<Seen[]> {
  return page.evaluate(() => harness.messages.map(({ publisher, message, offset, epoch, recovered }) => ({ publisher, message, offset, epoch, recovered: recovered === true })))
}

/** The whole history of `lobby`, oldest first, paging with `newStart` (at most 100 a page). */
function wholeHistory(page: Page): Promise<{ message: string; offset: number }[]> {
  return page.evaluate(async () => {
    const all: { message: string; offset: number }[] = []
    let start = 0
    do {
      const result = await harness.rtm!.history.getMessages('lobby', 'MESSAGE', { messageCount: 100, start })
      all.push(...result.messageList.map((item) => ({ message: String(item.message), offset: item.offset })))
      start = result.newStart
    } while (start !== 0)
    return all.reverse()
  })
}

interface Outcome { index: number; offset?: number; epoch?: string; error?: string }

/**
 * Publishes `count` stored messages `m0`… from `page`, `burst` at once and then one every
 * 20 ms (50/s, within PUBLISH_RATE's 60/s and burst of 120). Resolves with what each publish
 * answered; `globalThis.acked` counts acknowledgements while it runs.
 */
function publishStored(page: Page, count: number, burst: number): Promise<Outcome[]> {
  return page.evaluate(async ([count, burst]) => {
    const counter = globalThis as unknown as { acked: number }
    counter.acked = 0
    const started = performance.now()
    const outcomes: Promise<Outcome>[] = []
    for (let index = 0; index < count; index++) {
      if (index >= burst) {
        const due = started + (index - burst) * 20
        if (performance.now() < due) await new Promise((resolve) => setTimeout(resolve, due - performance.now()))
      }
      outcomes.push(harness.rtm!.publish('lobby', `m${index}`, { storeInHistory: true }).then(
        ({ offset, epoch }) => { counter.acked++; return { index, offset, epoch } },
        (error: unknown) => ({ index, error: JSON.stringify(error) }),
      ))
    }
    return Promise.all(outcomes)
  }, [count, burst] as const)
}

test.describe('message history', () => {
  test('a tab frozen while 300 stored messages are sent gets all of them back, in order and once, before newer ones', async ({ browser, harnessUrl }) => {
    const context = await browser.newContext()
    const appId = `history-frozen-${Date.now()}`
    const pages = await tabs(context, harnessUrl, appId, ['ann', 'ben'])
    const publisher = await coordinatorPage(pages)
    const away = pages.find((page) => page !== publisher)!
    await publisher.evaluate(() => harness.rtm!.publish('lobby', 'before', { storeInHistory: true }))
    await expect.poll(() => away.evaluate(() => harness.messages.length)).toBe(1)

    // Watches the coordinator's envelopes on the app's BroadcastChannel (another instance hears them all).
    await publisher.evaluate((channel) => {
      const spy = globalThis as unknown as { closes: string[]; onRecovery: (() => void) | null }
      spy.closes = []
      spy.onRecovery = null
      new BroadcastChannel(channel).onmessage = ({ data }) => {
        if (data?.kind === 'close') spy.closes.push(data.reason)
        if (data?.kind === 'req' && data.frame?.op === 'recoverMessages') spy.onRecovery?.()
      }
    }, `rtm-tabs:${appId}`)

    // Paused, the tab runs no JavaScript: its BroadcastChannel messages wait, its heartbeats stop,
    // and the coordinator ends its connection after three missed heartbeats (HEARTBEAT_MISSES × 5 s).
    // (CDP's Page.setWebLifecycleState 'frozen' is accepted but leaves a visible headless page running.)
    const cdp = await context.newCDPSession(away)
    await cdp.send('Debugger.enable')
    await cdp.send('Debugger.pause')
    await expect.poll(() => publisher.evaluate(() => (globalThis as unknown as { closes: string[] }).closes), { timeout: 25_000 }).toContain('HEARTBEAT_TIMEOUT')

    const outcomes = await publishStored(publisher, 300, 100)
    expect(outcomes.filter((outcome) => outcome.error)).toEqual([])
    expect(outcomes.map((outcome) => outcome.offset)).toEqual(Array.from({ length: 300 }, (_, i) => i + 2))

    // As soon as the woken tab asks for what it missed, a new (unstored) message goes out: it
    // reaches the tab live, during or after its recovery, and must come after the 300.
    await publisher.evaluate(() => {
      const spy = globalThis as unknown as { onRecovery: (() => void) | null }
      spy.onRecovery = () => {
        spy.onRecovery = null
        void harness.rtm!.publish('lobby', 'after')
      }
    })
    await cdp.send('Debugger.resume')

    await expect.poll(() => away.evaluate(() => harness.messages.length), { timeout: 15_000 }).toBe(302)
    const messages = await seen(away)
    expect(messages[0]).toMatchObject({ message: 'before', offset: 1, recovered: false })
    expect(messages.slice(1, 301).map(({ message, offset, recovered }) => ({ message, offset, recovered })))
      .toEqual(Array.from({ length: 300 }, (_, i) => ({ message: `m${i}`, offset: i + 2, recovered: true })))
    expect(messages[301]).toMatchObject({ message: 'after', recovered: false })
    expect(await away.evaluate(() => harness.recoveries)).toEqual([{ channelName: 'lobby', recovered: true, count: 300 }])
    await context.close()
  })

  test('the coordinator tab is closed while stored messages stream: the subscriber has every acknowledged one once and in order, and the history is whole', async ({ browser, harnessUrl }) => {
    const context = await browser.newContext()
    const pages = await tabs(context, harnessUrl, `history-failover-${Date.now()}`, ['ann', 'ben', 'cat'])
    const coordinator = await coordinatorPage(pages)
    const [publisher, subscriber] = pages.filter((page) => page !== coordinator)
    const publisherId = await publisher.evaluate(() => harness.rtm!.userId)
    // Quiet channels after the lobby: the new coordinator gets them back one request at a time, and
    // lobby messages arriving meanwhile must wait for the lobby's recovery, not jump the gap.
    await subscriber.evaluate(async () => { for (let i = 0; i < 10; i++) await harness.rtm!.subscribe(`quiet-${i}`, { withMessage: true }) })

    // 150 messages: 60 at once, then 50/s; the coordinator closes once 30 are acknowledged, with
    // the rest of the burst in flight (some applied and not yet acknowledged: resent, answered once).
    const stream = publishStored(publisher, 150, 60)
    await publisher.waitForFunction(() => (globalThis as unknown as { acked?: number }).acked! >= 30)
    await coordinator.close()
    const outcomes = await stream
    const acked = outcomes.filter((outcome) => outcome.offset !== undefined)
    // The stream went on through the failover (a rejected publish may be missing, never doubled).
    expect(acked.length).toBeGreaterThan(100)
    expect(new Set(acked.map((outcome) => outcome.epoch)).size).toBe(1)
    const epoch = acked[0].epoch
    expect(new Set(acked.map((outcome) => outcome.offset)).size).toBe(acked.length)
    const failed = outcomes.filter((outcome) => outcome.error).map((outcome) => `m${outcome.index}: ${outcome.error}`)
    if (failed.length) console.log(`publishes rejected across the failover: ${failed.join('; ')}`)

    const next = await coordinatorPage([publisher, subscriber])
    const ackedTexts = acked.map((outcome) => `m${outcome.index}`)
    const fromPublisher = async () => (await seen(subscriber)).filter((message) => message.publisher === publisherId)
    await expect.poll(async () => {
      const texts = new Set((await fromPublisher()).map((message) => message.message))
      return ackedTexts.filter((text) => !texts.has(text))
    }, { timeout: 15_000 }).toEqual([])
    const received = await fromPublisher()
    // It came back through recovery, which said so for every channel.
    const recoveries = await subscriber.evaluate(() => harness.recoveries)
    expect(recoveries.map((event) => event.channelName).sort()).toEqual(['lobby', ...Array.from({ length: 10 }, (_, i) => `quiet-${i}`)].sort())
    expect(recoveries.filter((event) => !event.recovered)).toEqual([])
    // Once each, in publish order, each at the offset its publish was acknowledged with, all in one epoch.
    const indexes = received.map((message) => Number(message.message.slice(1)))
    expect(new Set(indexes).size).toBe(indexes.length)
    expect(indexes).toEqual([...indexes].sort((a, b) => a - b))
    const offsetOf = new Map(acked.map((outcome) => [`m${outcome.index}`, outcome.offset]))
    for (const message of received) if (offsetOf.has(message.message)) expect(message.offset).toBe(offsetOf.get(message.message))
    expect(new Set(received.map((message) => message.epoch))).toEqual(new Set([epoch]))

    // The new coordinator loaded the history from IndexedDB: every stored message once, offsets 1…n without a hole.
    const history = await wholeHistory(next)
    expect(history.map((item) => item.offset)).toEqual(Array.from({ length: history.length }, (_, i) => i + 1))
    expect(new Set(history.map((item) => item.message)).size).toBe(history.length)
    for (const outcome of acked) expect(history[outcome.offset! - 1]?.message).toBe(`m${outcome.index}`)
    // It goes on in the same epoch.
    const later = await publisher.evaluate(() => harness.rtm!.publish('lobby', 'later', { storeInHistory: true }))
    expect(later).toMatchObject({ epoch, offset: history.length + 1 })
    await context.close()
  })

  test('mesh: another browser reads the history, and it survives a reload of the coordinator browser', async ({ browser, harnessUrl, relayUrl }) => {
    const appId = `history-mesh-${Date.now()}`
    const contexts = [await browser.newContext(), await browser.newContext()]
    const pages = [
      await openClient(contexts[0], harnessUrl, appId, 'alice', 'mesh', { url: relayUrl }),
      await openClient(contexts[1], harnessUrl, appId, 'bob', 'mesh', { url: relayUrl }),
    ]
    const hostIndex = (await coordinatorOf(pages[0])).startsWith('this browser') ? 0 : 1
    const host = pages[hostIndex]
    const guest = pages[1 - hostIndex]
    const hostId = await host.evaluate(() => harness.rtm!.userId)
    for (const text of ['h1', 'h2', 'h3']) await host.evaluate((text) => harness.rtm!.publish('lobby', text, { storeInHistory: true }), text)
    const expected = [{ message: 'h1', offset: 1 }, { message: 'h2', offset: 2 }, { message: 'h3', offset: 3 }]
    expect(await wholeHistory(guest)).toEqual(expected)
    const newest = await guest.evaluate(() => harness.rtm!.history.getMessages('lobby', 'MESSAGE', { messageCount: 1 }))
    expect(newest).toMatchObject({ count: 1, messageList: [{ message: 'h3', publisher: hostId, messageType: 'STRING', offset: 3 }] })
    expect(newest.newStart).toBeGreaterThan(0)

    // The coordinator's browser reloads: the guest takes over with its replica of the store.
    await host.reload()
    await expect.poll(() => coordinatorOf(guest), { timeout: 20_000 }).toMatch(/^this browser/)
    expect(await wholeHistory(guest)).toEqual(expected)
    await host.waitForFunction(() => 'harness' in globalThis)
    await host.evaluate(([appId, userId, url]) => harness.start(appId, userId, { transport: 'mesh', url }), [appId, hostId, relayUrl] as const)
    expect(await wholeHistory(host)).toEqual(expected)
    for (const context of contexts) await context.close()
  })
})
