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

    await host.evaluate(() => harness.rtm!.storage.setChannelMetadata('lobby', 'MESSAGE', [{ key: 'topic', value: 'mesh works' }]))
    await expect.poll(() => guest.evaluate(async () => (await harness.rtm!.storage.getChannelMetadata('lobby', 'MESSAGE')).metadata.topic?.value)).toBe('mesh works')
    await host.evaluate(async () => {
      await harness.rtm!.lock.setLock('lobby', 'MESSAGE', 'pen', { ttl: 10 })
      await harness.rtm!.lock.acquireLock('lobby', 'MESSAGE', 'pen')
    })
    const waiting = guest.evaluate(() => harness.rtm!.lock.acquireLock('lobby', 'MESSAGE', 'pen', { retry: true }).then(() => 'acquired', (error) => JSON.stringify(error)))
    // The coordinator's browser closes: the guest takes over (its replica holds the lock) and gets the pen.
    await contexts[host === alice ? 0 : 1].close()
    await expect.poll(() => coordinatorOf(guest), { timeout: 20_000 }).toMatch(/^this browser/)
    expect(await waiting).toBe('acquired')
    const locks = await guest.evaluate(() => harness.rtm!.lock.getLock('lobby', 'MESSAGE'))
    expect(locks.lockDetails.find((lock) => lock.lockName === 'pen')).toMatchObject({ owner: await guest.evaluate(() => harness.rtm!.userId) })
    expect((await guest.evaluate(async () => (await harness.rtm!.storage.getChannelMetadata('lobby', 'MESSAGE')).metadata.topic?.value))).toBe('mesh works')
    for (const context of contexts) await context.close().catch(() => undefined)
  })

  test('a frozen coordinator browser (JavaScript paused) loses its id at the broker and is replaced; when it wakes it follows', async ({ browser, harnessUrl, relayUrl }) => {
    const appId = `mesh-frozen-${Date.now()}`
    const contexts = [await browser.newContext(), await browser.newContext()]
    const alice = await openClient(contexts[0], harnessUrl, appId, 'alice', 'mesh', { url: relayUrl })
    const bob = await openClient(contexts[1], harnessUrl, appId, 'bob', 'mesh', { url: relayUrl })
    for (const page of [alice, bob]) await page.evaluate(() => harness.rtm!.subscribe('lobby', { withMessage: true, withMetadata: true }))
    const hostIndex = (await coordinatorOf(alice)).startsWith('this browser') ? 0 : 1
    const [host, guest] = hostIndex === 0 ? [alice, bob] : [bob, alice]
    await host.evaluate(() => harness.rtm!.storage.setChannelMetadata('lobby', 'MESSAGE', [{ key: 'before', value: 'the freeze' }]))

    const cdp = await contexts[hostIndex].newCDPSession(host)
    await cdp.send('Debugger.enable')
    await cdp.send('Debugger.pause')
    // Its sockets stay open but its heartbeats stop: the broker frees the id and the guest claims it.
    await expect.poll(() => coordinatorOf(guest), { timeout: 40_000 }).toMatch(/^this browser/)
    await expect.poll(() => guest.evaluate(() => harness.rtm!.linkState), { timeout: 10_000 }).toBe('CONNECTED')
    expect(await guest.evaluate(async () => (await harness.rtm!.storage.getChannelMetadata('lobby', 'MESSAGE')).metadata.before?.value)).toBe('the freeze')

    await cdp.send('Debugger.resume')
    // Awake, it finds the id taken, steps down and reconnects to the guest.
    await expect.poll(() => coordinatorOf(host), { timeout: 20_000 }).toBe(`peer ${appId}-coordinator`)
    await expect.poll(() => host.evaluate(() => harness.rtm!.linkState), { timeout: 20_000 }).toBe('CONNECTED')
    await host.evaluate(() => harness.rtm!.publish('lobby', 'awake again'))
    await expect.poll(() => received(guest)).toContain(`${await host.evaluate(() => harness.rtm!.userId)}:awake again`)
    for (const context of contexts) await context.close()
  })
})
