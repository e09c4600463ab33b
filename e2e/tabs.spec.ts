import type { BrowserContext, Page } from '@playwright/test'
import { coordinatorOf, coordinatorPage, expect, openClient, test } from './serverless'

/** Tabs mode: no server; one tab coordinates (Web Locks), the others link over a BroadcastChannel. */

async function threeTabs(context: BrowserContext, url: string, appId: string): Promise<Page[]> {
  const pages: Page[] = []
  for (const user of ['ann', 'ben', 'cat']) pages.push(await openClient(context, url, appId, user, 'tabs'))
  for (const page of pages) await page.evaluate(() => harness.rtm!.subscribe('lobby', { withMessage: true, withPresence: true, withMetadata: true, withLock: true }))
  return pages
}

async function onlineUsers(page: Page): Promise<string[]> {
  return page.evaluate(async () => {
    const result = await harness.rtm!.presence.getOnlineUsers('lobby', 'MESSAGE')
    return result.occupants.map((occupant) => occupant.userId).sort()
  })
}

async function publish(page: Page, text: string): Promise<void> {
  await page.evaluate((text) => harness.rtm!.publish('lobby', text).then(() => undefined), text)
}

async function received(page: Page): Promise<string[]> {
  return page.evaluate(() => harness.messages.map((message) => `${message.publisher}:${message.message}`))
}

async function lobbyMetadata(page: Page): Promise<Record<string, string>> {
  return page.evaluate(async () => {
    const { metadata } = await harness.rtm!.storage.getChannelMetadata('lobby', 'MESSAGE')
    return Object.fromEntries(Object.entries(metadata).map(([key, item]) => [key, item.value]))
  })
}

test.describe('tabs mode', () => {
  test('three tabs elect one coordinator, see each other and chat', async ({ browser, harnessUrl }) => {
    const context = await browser.newContext()
    const pages = await threeTabs(context, harnessUrl, `tabs-chat-${Date.now()}`)
    await coordinatorPage(pages)
    for (const page of pages) await expect.poll(() => onlineUsers(page)).toEqual(['ann', 'ben', 'cat'])
    await publish(pages[0], 'hi from ann')
    await publish(pages[2], 'hi from cat')
    for (const page of [pages[1]]) await expect.poll(() => received(page)).toEqual(['ann:hi from ann', 'cat:hi from cat'])
    await expect.poll(() => received(pages[0])).toContain('cat:hi from cat')
    await context.close()
  })

  for (const how of ['closed', 'crashed'] as const) {
    test(`the coordinator tab is ${how} mid-burst: a new one takes over, every acknowledged write is kept once`, async ({ browser, harnessUrl }) => {
      const context = await browser.newContext()
      const pages = await threeTabs(context, harnessUrl, `tabs-failover-${how}-${Date.now()}`)
      const coordinator = await coordinatorPage(pages)
      const followers = pages.filter((page) => page !== coordinator)
      const [writer, other] = followers
      const baseline = await writer.evaluate(async () => {
        await harness.rtm!.lock.setLock('lobby', 'MESSAGE', 'pen', { ttl: 60 })
        await harness.rtm!.lock.acquireLock('lobby', 'MESSAGE', 'pen')
        await harness.rtm!.storage.setChannelMetadata('lobby', 'MESSAGE', [{ key: 'base', value: '0' }])
        return (await harness.rtm!.storage.getChannelMetadata('lobby', 'MESSAGE')).majorRevision
      })

      // A topic in a stream channel: `other` publishes on it, `writer` subscribes to it.
      const [writerId, otherId] = await Promise.all([writer, other].map((page) => page.evaluate(() => harness.rtm!.userId)))
      await other.evaluate(async () => {
        const stage = harness.streams.stage = harness.rtm!.createStreamChannel('stage')
        await stage.join()
        await stage.joinTopic('news')
      })
      await writer.evaluate(async (publisher) => {
        const stage = harness.streams.stage = harness.rtm!.createStreamChannel('stage')
        await stage.join()
        await stage.subscribeTopic('news', { users: [publisher] })
      }, otherId)

      // A burst of writes from a follower; the coordinator goes away while it runs.
      const count = 30
      const burst = writer.evaluate(async (count) => {
        const acked: number[] = (globalThis as unknown as { acked: number[] }).acked = []
        const failed: string[] = []
        const tasks: Promise<void>[] = []
        for (let i = 0; i < count; i++) {
          const write = harness.rtm!.storage.setChannelMetadata('lobby', 'MESSAGE', [{ key: `k${i}`, value: String(i) }])
          tasks.push(write.then(() => { acked.push(i) }, (error: unknown) => { failed.push(`${i}: ${JSON.stringify(error)}`) }))
          // Seed 000 allows 10 storage calls per second per user: stay under it, resends included.
          await new Promise((resolve) => setTimeout(resolve, 150))
        }
        await Promise.all(tasks)
        return { acked, failed }
      }, count)
      // The coordinator goes once part of the burst is acknowledged.
      await writer.waitForFunction(() => ((globalThis as unknown as { acked?: number[] }).acked?.length ?? 0) >= 5)
      if (how === 'closed') await coordinator.close()
      else {
        const cdp = await context.newCDPSession(coordinator)
        void cdp.send('Page.crash').catch(() => undefined) // the renderer dies: this call never answers
      }
      const { acked, failed } = await burst

      // A follower took over; both survivors agree on it and came back through RECONNECTED.
      const survivors = followers
      const next = await coordinatorPage(survivors)
      expect(survivors).toContain(next)
      const survivorIds = (await Promise.all(survivors.map((page) => page.evaluate(() => harness.rtm!.userId)))).sort()
      for (const page of survivors) {
        await expect.poll(() => page.evaluate(() => harness.links.some((change) => change.operation === 'RECONNECTED'))).toBe(true)
        await expect.poll(() => onlineUsers(page)).toEqual(survivorIds)
      }
      // Every request of the burst was acknowledged (retried against the new coordinator).
      expect(failed).toEqual([])
      expect(acked.length).toBe(count)

      for (const page of [writer, other]) {
        const metadata = await page.evaluate(() => harness.rtm!.storage.getChannelMetadata('lobby', 'MESSAGE'))
        for (let i = 0; i < count; i++) expect(metadata.metadata[`k${i}`]?.value).toBe(String(i))
        // Applied once: every applied write takes the next revision, so the burst moved it by exactly `count`.
        expect(metadata.majorRevision - baseline).toBe(count)
      }
      const locks = await other.evaluate(() => harness.rtm!.lock.getLock('lobby', 'MESSAGE'))
      expect(locks.lockDetails.find((lock) => lock.lockName === 'pen')).toMatchObject({ owner: await writer.evaluate(() => harness.rtm!.userId), ttl: 60 })
      // Chat and the topic work through the new coordinator: channels, stream channel and topic were restored.
      await publish(other, 'after failover')
      await expect.poll(() => received(writer)).toContain(`${otherId}:after failover`)
      // The publisher's topic came back with its stream channel. (A subscriber that restores before the
      // publisher has rejoined is subscribed again by its SDK when the publisher is back; subscribing
      // here, incrementally, waits for that.)
      await expect.poll(() => writer.evaluate((publisher) => harness.streams.stage.subscribeTopic('news', { users: [publisher] }).then((result) => result.succeedUsers), otherId)).toEqual([otherId])
      await other.evaluate(() => harness.streams.stage.publishTopicMessage('news', 'topic after failover'))
      await expect.poll(() => writer.evaluate(() => harness.messages.some((message) => message.topicName === 'news' && message.message === 'topic after failover'))).toBe(true)
      expect(writerId).not.toBe(otherId)
      await context.close()
    })
  }

  test('the app database is deleted under the coordinator (site data cleared): the next write is refused, every tab goes on from what is on disk', async ({ browser, harnessUrl }) => {
    const context = await browser.newContext()
    const appId = `tabs-deleted-${Date.now()}`
    const pages = await threeTabs(context, harnessUrl, appId)
    const coordinator = await coordinatorPage(pages)
    const [writer, deleter] = pages.filter((page) => page !== coordinator)
    await writer.evaluate(() => harness.rtm!.storage.setChannelMetadata('lobby', 'MESSAGE', [{ key: 'plan', value: 'v1' }]))

    // Completes once the coordinator's connection gave way (IndexedDB versionchange).
    await deleter.evaluate((name) => new Promise<void>((resolve, reject) => {
      const request = indexedDB.deleteDatabase(name)
      request.onsuccess = () => resolve()
      request.onerror = () => reject(request.error)
    }), `rtm-coordinator:${appId}`)
    const refused = await writer.evaluate(() => harness.rtm!.storage.setChannelMetadata('lobby', 'MESSAGE', [{ key: 'plan', value: 'v2' }])
      .then(() => 'stored', (error: { errorCode?: number }) => String(error.errorCode)))
    expect(refused).toBe('-12001')

    // The coordinator stepped down; a new term loaded the (now empty) database, and every tab reconnected to it.
    await coordinatorPage(pages)
    for (const page of pages) await expect.poll(() => lobbyMetadata(page)).toEqual({})
    await writer.evaluate(() => harness.rtm!.storage.setChannelMetadata('lobby', 'MESSAGE', [{ key: 'plan', value: 'v3' }]))
    for (const page of pages) await expect.poll(() => lobbyMetadata(page)).toEqual({ plan: 'v3' })
    await context.close()
  })

  test('a frozen coordinator (JavaScript paused) is detected by heartbeats and replaced; when it wakes it follows', async ({ browser, harnessUrl }) => {
    const context = await browser.newContext()
    const pages = await threeTabs(context, harnessUrl, `tabs-frozen-${Date.now()}`)
    const frozen = await coordinatorPage(pages)
    const followers = pages.filter((page) => page !== frozen)
    const cdp = await context.newCDPSession(frozen)
    await cdp.send('Debugger.enable')
    await cdp.send('Debugger.pause')
    // It still holds the election lock; the followers hear nothing and steal it.
    const next = await coordinatorPage(followers)
    const other = followers.find((page) => page !== next)!
    const followerIds = (await Promise.all(followers.map((page) => page.evaluate(() => harness.rtm!.userId)))).sort()
    // Both came back (subscriptions restored) on the new coordinator before we chat through it.
    for (const page of followers) await expect.poll(() => onlineUsers(page)).toEqual(followerIds)
    await publish(other, 'while it slept')
    await expect.poll(() => received(next)).toContain(`${await other.evaluate(() => harness.rtm!.userId)}:while it slept`)
    await cdp.send('Debugger.resume')
    // Awake again, it finds its lock gone, steps down and reconnects to the new coordinator.
    await coordinatorPage(pages)
    await expect.poll(() => coordinatorOf(frozen)).toMatch(/^tab /)
    await expect.poll(() => frozen.evaluate(() => harness.rtm!.linkState)).toBe('CONNECTED')
    await context.close()
  })
})
