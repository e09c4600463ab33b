import type { Browser, Page } from '@playwright/test'
import pino from 'pino'
import { startRelay } from '../src/relay/server'
import { expectAxeClean } from './axe'
import { messages, person, send, signInAs } from './chat-page'
import { expect, RELAY_HOST, test } from './fixtures'

/** A signed-in user in their own browser context (own storage, own socket). */
async function signIn(browser: Browser, relayUrl: string, userId: string, viaForm = false): Promise<Page> {
  const context = await browser.newContext()
  const page = await context.newPage()
  // Hostile input must never run: any dialog (alert) fails the test.
  page.on('dialog', (dialog) => { throw new Error(`unexpected dialog: ${dialog.message()}`) })
  return signInAs(page, relayUrl, userId, { viaForm })
}

test.describe('chat between two browsers', () => {
  test('sign in, see each other online with status, chat both ways, DM, unread counts and errors', async ({ browser, relayUrl }) => {
    const alice = await signIn(browser, relayUrl, 'alice', true)
    const bob = await signIn(browser, relayUrl, 'bob')

    await expect(alice.getByTestId('header-user')).toHaveText('alice')
    await expect(alice.getByTestId('header-mode')).toHaveText('relay')
    await expect(alice.getByTestId('header-coordinator')).toHaveText(relayUrl)

    // Who is online, both ways, and a presence state set by one shows at the other.
    await expect(person(alice, 'bob')).toBeVisible()
    await expect(person(bob, 'alice')).toBeVisible()
    await alice.getByTestId('status-input').fill('reviewing PRs')
    await alice.getByTestId('status-save').click()
    await expect(person(bob, 'alice').getByTestId('online-status')).toHaveText('reviewing PRs')

    // Chat both ways in #lobby, with the publisher shown.
    await send(alice, 'hi bob')
    await expect(messages(bob).filter({ hasText: 'hi bob' })).toHaveAttribute('data-publisher', 'alice')
    await send(bob, 'hi alice')
    await expect(messages(alice).filter({ hasText: 'hi alice' })).toHaveAttribute('data-publisher', 'bob')
    await expect(alice.getByTestId('composer-input')).toHaveValue('')

    // A second channel: messages there count as unread while bob looks at #lobby.
    for (const page of [alice, bob]) {
      await page.getByTestId('channel-join-input').fill('random')
      await page.getByTestId('channel-join').click()
      await expect(page.getByTestId('conversation-title')).toHaveText('#random')
    }
    await bob.locator('[data-testid="channel-item"][data-channel="lobby"]').click()
    await send(alice, 'over here')
    await send(alice, 'and again')
    const randomAtBob = bob.locator('[data-testid="channel-item"][data-channel="random"]')
    await expect(randomAtBob.getByTestId('channel-unread')).toHaveText('2')
    await expect(bob.getByTestId('tab-chat').locator('.badge')).toHaveText('2')
    await randomAtBob.click()
    await expect(messages(bob).filter({ hasText: 'and again' })).toBeVisible()
    await expect(randomAtBob.getByTestId('channel-unread')).toHaveCount(0)

    // A message over 32 KB is caught before sending: its size in words, Send disabled, the draft kept.
    await alice.getByTestId('composer-input').fill('x'.repeat(33 * 1024))
    await expect(alice.getByTestId('composer-size')).toHaveText('Message too long — 33 KB of 32 KB')
    await expect(alice.getByTestId('composer-send')).toBeDisabled()
    await expect(alice.getByTestId('composer-input')).not.toHaveValue('')

    // A direct message: bob picks alice from the online list.
    await person(bob, 'alice').getByTestId('dm-open').click()
    await expect(bob.getByTestId('conversation-title')).toHaveText('@alice')
    await send(bob, 'psst, alice')
    await expect(messages(bob).filter({ hasText: 'psst, alice' })).toHaveAttribute('data-publisher', 'bob')
    const bobAtAlice = alice.locator('[data-testid="dm-item"][data-peer="bob"]')
    await expect(bobAtAlice.getByTestId('dm-unread')).toHaveText('1')
    await bobAtAlice.click()
    await expect(alice.getByTestId('conversation').filter({ has: alice.getByTestId('conversation-title').filter({ hasText: '@bob' }) })
      .getByTestId('message').filter({ hasText: 'psst, alice' })).toHaveAttribute('data-publisher', 'bob')

    // Bob leaves: he drops out of the online list, and a DM to him is kept for him (history), not refused.
    await bob.getByTestId('logout').click()
    await expect(bob.getByTestId('signin-submit')).toBeVisible()
    await expect(person(alice, 'bob')).toHaveCount(0)
    await send(alice, 'are you there?')
    await expect(messages(alice).filter({ hasText: 'are you there?' })).toHaveAttribute('data-publisher', 'alice')
    await expect(alice.getByTestId('conversation-error')).toHaveCount(0)

    // The sign-in form remembers the last user id.
    await expect(bob.getByTestId('signin-user')).toHaveValue('bob')
    await alice.context().close()
    await bob.context().close()
  })

  test('the event log shows frames in and out and filters them', async ({ browser, relayUrl }) => {
    const carol = await signIn(browser, relayUrl, 'carol')
    await send(carol, 'log me')
    // A DM to a user id that cannot exist: refused with -10006, and the refusal is in the log too.
    await carol.getByTestId('dm-peer-input').fill('nöbody')
    await carol.getByTestId('dm-peer-open').click()
    await send(carol, 'hello?')
    await expect(carol.getByTestId('conversation-error')).toContainText('-10006 INVALID_USER_ID')
    await carol.locator('[data-testid="channel-item"][data-channel="lobby"]').click()
    await carol.getByTestId('tab-log').click()
    const rows = carol.getByTestId('log-row')
    await expect(rows.and(carol.locator('[data-direction="out"][data-label="publish"]')).first()).toBeVisible()
    await expect(rows.and(carol.locator('[data-direction="in"][data-label="message"]')).first()).toContainText('log me')
    await expect(rows.and(carol.locator('[data-direction="in"][data-label="login"]')).first()).toBeVisible()
    await expect(rows.and(carol.locator('[data-direction="in"][data-label="publish"]')).filter({ hasText: '-10006' })).toHaveCount(1)

    await carol.getByTestId('log-direction-in').check()
    await expect(rows.and(carol.locator('[data-direction="out"]'))).toHaveCount(0)
    await expect(rows.first()).toBeVisible()

    await carol.getByTestId('log-direction-both').check()
    // Text matches the op/kind and the frame: 'log me' is in the publish request and the message event only.
    await carol.getByTestId('log-query').fill('log me')
    await expect(rows).toHaveCount(2)
    expect(await rows.evaluateAll((elements) => elements.map((element) => element.getAttribute('data-label')).sort())).toEqual(['message', 'publish'])
    await carol.getByTestId('log-query').fill('SUBSCRIBE')
    await expect(rows.first()).toBeVisible()
    expect(new Set(await rows.evaluateAll((elements) => elements.map((element) => element.getAttribute('data-label'))))).toContain('subscribe')

    // Paused, new frames are counted but the list holds still.
    await carol.getByTestId('log-query').fill('')
    await carol.getByTestId('log-pause').click()
    const frozen = await rows.count()
    // The log is one tab stop; arrow keys move between its rows.
    await carol.getByTestId('log-clear').focus()
    await carol.keyboard.press('Tab')
    await expect(rows.first()).toBeFocused()
    await carol.keyboard.press('ArrowDown')
    await expect(rows.nth(1)).toBeFocused()
    await carol.keyboard.press('End')
    await expect(rows.last()).toBeFocused()
    await carol.keyboard.press('Home')
    await expect(rows.first()).toBeFocused()
    await expect(rows.and(carol.locator('[tabindex="0"]'))).toHaveCount(1)
    await carol.getByTestId('tab-chat').click()
    await send(carol, 'while paused')
    await expect(messages(carol).filter({ hasText: 'while paused' })).toBeVisible()
    await carol.getByTestId('tab-log').click()
    await expect(carol.getByTestId('log-summary')).toContainText('paused')
    expect(await rows.count()).toBe(frozen)
    await carol.context().close()
  })

  test('the same user signing in elsewhere ends the first session, which says why', async ({ browser, relayUrl }) => {
    const first = await signIn(browser, relayUrl, 'erin')
    await first.getByTestId('composer-input').focus()
    const second = await signIn(browser, relayUrl, 'erin')
    await expect(first.getByTestId('link-state')).toHaveAttribute('data-state', 'FAILED')
    await expect(first.getByTestId('link-banner')).toContainText('You opened Signal Kit in another tab or window.')
    await expect(second.getByTestId('link-state')).toHaveAttribute('data-state', 'CONNECTED')
    // The first page is read-only: its panels stay on screen but take no input; focus, lost with them, waits on "Use here".
    await expect(first.getByTestId('workspace-panels')).toHaveJSProperty('inert', true)
    await expect(first.getByTestId('use-here')).toBeFocused()
    await expectAxeClean(first)

    // "Use here" takes the session back, which ends the second one in turn.
    await first.getByTestId('use-here').click()
    await expect(first.getByTestId('link-state')).toHaveAttribute('data-state', 'CONNECTED')
    await expect(first.getByTestId('link-banner')).toHaveCount(0)
    await expect(first.getByTestId('workspace-panels')).toHaveJSProperty('inert', false)
    await expect(second.getByTestId('link-state')).toHaveAttribute('data-state', 'FAILED')
    await send(first, 'back here')
    await expect(messages(first).filter({ hasText: 'back here' })).toHaveAttribute('data-publisher', 'erin')
    // Signing out from the banner shows the form, focused.
    await second.getByTestId('banner-signout').click()
    await expect(second.getByTestId('signin-user')).toBeFocused()
    await first.context().close()
    await second.context().close()
  })

  test('a reload signs back in as the same user; logging out forgets it', async ({ browser, relayUrl }) => {
    const page = await signIn(browser, relayUrl, 'hana', true)
    await page.reload()
    await expect(page.getByTestId('link-state')).toHaveAttribute('data-state', 'CONNECTED')
    await expect(page.getByTestId('header-user')).toHaveText('hana')
    await expect(page.getByTestId('tab-chat')).toBeFocused()
    await page.getByTestId('logout').click()
    await expect(page.getByTestId('signin-user')).toBeFocused()
    await page.reload()
    await expect(page.getByTestId('signin-submit')).toBeVisible()
    await expect(page.getByTestId('signin-user')).toHaveValue('hana')
    await page.context().close()
  })

  test('a relay restart shows as a lost link, then the app reconnects and chats on', async ({ browser }) => {
    // A relay of this test's own, so that restarting it disturbs no other test.
    const options = { host: RELAY_HOST, staticDir: 'dist', logger: pino({ level: 'silent' }) }
    let relay = await startRelay({ ...options, port: 0 })
    const frank = await signIn(browser, relay.url, 'frank')
    const gina = await signIn(browser, relay.url, 'gina')
    await expect(person(frank, 'gina')).toBeVisible()
    await relay.close()
    await expect(frank.getByTestId('link-state')).not.toHaveAttribute('data-state', 'CONNECTED')
    await expect(frank.getByTestId('link-banner')).toContainText('Reconnecting')
    relay = await startRelay({ ...options, port: relay.port })
    try {
      await expect(frank.getByTestId('link-state')).toHaveAttribute('data-state', 'CONNECTED', { timeout: 15_000 })
      await expect(gina.getByTestId('link-state')).toHaveAttribute('data-state', 'CONNECTED', { timeout: 15_000 })
      await expect(frank.getByTestId('link-banner')).toHaveCount(0)
      await send(gina, 'back again')
      await expect(messages(frank).filter({ hasText: 'back again' })).toHaveAttribute('data-publisher', 'gina')
      await expect(person(frank, 'gina')).toBeVisible()
    } finally {
      await frank.context().close()
      await gina.context().close()
      await relay.close()
    }
  })

  test('messages typed while offline wait as "Sending…", go out once when the link is back, and a cancelled one never', async ({ browser, relayUrl }) => {
    const olga = await signIn(browser, relayUrl, 'olga')
    const piet = await signIn(browser, relayUrl, 'piet')
    await expect(person(olga, 'piet')).toBeVisible()
    // Offline drops olga's socket; the SDK keeps reconnecting until the network is back.
    await olga.context().setOffline(true)
    await expect(olga.getByTestId('people').getByTestId('presence-offline')).toBeVisible()
    await send(olga, 'typed on the train')
    await send(olga, 'never mind')
    const waiting = olga.getByTestId('outbox-message')
    await expect(waiting).toHaveCount(2)
    await expect(waiting.first().getByTestId('outbox-status')).toHaveText('Sending…')
    await waiting.filter({ hasText: 'never mind' }).getByTestId('outbox-cancel').click()
    await expect(waiting).toHaveCount(1)
    await expect(olga.getByTestId('composer-input')).toBeFocused()

    await olga.context().setOffline(false)
    await expect(messages(piet).filter({ hasText: 'typed on the train' })).toHaveAttribute('data-publisher', 'olga', { timeout: 20_000 })
    await expect(messages(olga).filter({ hasText: 'typed on the train' })).toHaveCount(1)
    await expect(waiting).toHaveCount(0)
    // Exactly once, and the cancelled one never: a later message is the next thing piet sees
    // (#lobby's history from earlier tests on this worker's relay may come before them).
    await send(olga, 'and we are back')
    await expect(messages(piet).filter({ hasText: 'and we are back' })).toBeVisible()
    const seen = await messages(piet).getByTestId('message-text').allTextContents()
    expect(seen.slice(seen.indexOf('typed on the train'))).toEqual(['typed on the train', 'and we are back'])
    await olga.context().close()
    await piet.context().close()
  })

  test('hostile input shows as text everywhere', async ({ browser, relayUrl }) => {
    const mallory = await signIn(browser, relayUrl, 'mallory')
    const dave = await signIn(browser, relayUrl, 'dave')
    const image = '<img src=x onerror=alert(1)>'
    const script = '<script>window.__pwned = true</script>'

    await mallory.getByTestId('status-input').fill(image)
    await mallory.getByTestId('status-save').click()
    await send(mallory, image)
    await send(mallory, script)
    await person(mallory, 'dave').getByTestId('dm-open').click()
    await send(mallory, image)

    await expect(messages(dave).filter({ hasText: script })).toBeVisible()
    await expect(messages(dave).getByTestId('message-text').filter({ hasText: image })).toHaveText(image)
    await expect(person(dave, 'mallory').getByTestId('online-status')).toHaveText(image)
    await dave.locator('[data-testid="dm-item"][data-peer="mallory"]').click()
    await expect(messages(dave).getByTestId('message-text')).toHaveText([image])
    await dave.getByTestId('tab-log').click()
    await expect(dave.getByTestId('log-row').filter({ hasText: 'onerror=alert(1)' }).first()).toBeVisible()

    // Nothing was parsed as markup: no injected image, no script ran.
    for (const page of [mallory, dave]) {
      await expect(page.locator('img[src="x"]')).toHaveCount(0)
      expect(await page.evaluate(() => (window as { __pwned?: boolean }).__pwned)).toBeUndefined()
    }
    await mallory.context().close()
    await dave.context().close()
  })
})
