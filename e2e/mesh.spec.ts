import type { Page } from '@playwright/test'
import { coordinatorOf, expect, openClient, test } from './serverless'

/** Mesh mode: browsers with no shared BroadcastChannel (separate contexts) over PeerJS data channels. */

async function received(page: Page): Promise<string[]> {
  return page.evaluate(() => harness.messages.map((message) => `${message.publisher}:${message.message}`))
}

test.describe('mesh mode', () => {
  test('two browsers elect one coordinator, chat, share metadata and hand a lock over when one closes', async ({ browser, harnessUrl, relayUrl }) => {
    const appId = `mesh-${Date.now()}`
    const contexts = [await browser.newContext(), await browser.newContext()]
    const alice = await openClient(contexts[0], harnessUrl, appId, 'alice', 'mesh', { url: relayUrl })
    const bob = await openClient(contexts[1], harnessUrl, appId, 'bob', 'mesh', { url: relayUrl })
    for (const page of [alice, bob]) await page.evaluate(() => harness.rtm!.subscribe('lobby', { withMessage: true, withPresence: true, withMetadata: true, withLock: true }))

    // One browser holds <appId>-coordinator; the other names it.
    const described = await Promise.all([alice, bob].map(coordinatorOf))
    expect(described.filter((text) => text.startsWith('this browser'))).toHaveLength(1)
    expect(described).toContain(`peer ${appId}-coordinator`)
    const [host, guest] = described[0].startsWith('this browser') ? [alice, bob] : [bob, alice]

    await alice.evaluate(() => harness.rtm!.publish('lobby', 'hello bob'))
    await bob.evaluate(() => harness.rtm!.publish('lobby', 'hello alice'))
    await expect.poll(() => received(bob)).toContain('alice:hello bob')
    await expect.poll(() => received(alice)).toContain('bob:hello alice')

    const storage = await guest.evaluate(() => harness.rtm!.storage.getChannelMetadata('lobby', 'MESSAGE').then(() => true, () => false))
    if (storage) {
      await host.evaluate(() => harness.rtm!.storage.setChannelMetadata('lobby', 'MESSAGE', [{ key: 'topic', value: 'mesh works' }]))
      await expect.poll(() => guest.evaluate(async () => (await harness.rtm!.storage.getChannelMetadata('lobby', 'MESSAGE')).metadata.topic?.value)).toBe('mesh works')
      await host.evaluate(async () => {
        await harness.rtm!.lock.setLock('lobby', 'MESSAGE', 'pen', { ttl: 10 })
        await harness.rtm!.lock.acquireLock('lobby', 'MESSAGE', 'pen')
      })
      const waiting = guest.evaluate(() => harness.rtm!.lock.acquireLock('lobby', 'MESSAGE', 'pen', { retry: true }).then(() => 'acquired', (error) => JSON.stringify(error)))
      // The coordinator's browser closes: the guest takes over (its replica holds the lock) and gets the pen.
      await contexts[0 + (host === bob ? 1 : 0)].close()
      await expect.poll(() => coordinatorOf(guest), { timeout: 20_000 }).toMatch(/^this browser/)
      expect(await waiting).toBe('acquired')
      const locks = await guest.evaluate(() => harness.rtm!.lock.getLock('lobby', 'MESSAGE'))
      expect(locks.lockDetails.find((lock) => lock.lockName === 'pen')).toMatchObject({ owner: await guest.evaluate(() => harness.rtm!.userId) })
      expect((await guest.evaluate(async () => (await harness.rtm!.storage.getChannelMetadata('lobby', 'MESSAGE')).metadata.topic?.value))).toBe('mesh works')
    } else {
      // Without the storage engine (issue 4): failover alone — the guest takes over and chats on.
      await contexts[host === alice ? 0 : 1].close()
      await expect.poll(() => coordinatorOf(guest), { timeout: 20_000 }).toMatch(/^this browser/)
      await expect.poll(() => guest.evaluate(() => harness.links.some((change) => change.operation === 'RECONNECTED'))).toBe(true)
      await guest.evaluate(() => harness.rtm!.publish('lobby', 'still here'))
    }
    for (const context of contexts) await context.close().catch(() => undefined)
  })
})
