import type { Browser, Page } from '@playwright/test'
import { expect, test } from './fixtures'

/** Lock TTL at its minimum (seed 000: [10, 300] s) and a short presence timeout keep the wait short. */
const TTL_S = 10
const PRESENCE_TIMEOUT_S = 5

/** A signed-in user in their own browser context, showing one panel. */
async function openPanel(browser: Browser, relayUrl: string, userId: string, panel: 'metadata' | 'locks' | 'topics'): Promise<Page> {
  const context = await browser.newContext()
  const page = await context.newPage()
  await page.goto(`${relayUrl}/?user=${userId}&presenceTimeout=${PRESENCE_TIMEOUT_S}`)
  await expect(page.getByTestId('link-state')).toHaveText('CONNECTED')
  await page.getByTestId(`tab-${panel}`).click()
  return page
}

const row = (page: Page, key: string) => page.getByTestId(`metadata-row-${key}`)
const lockRow = (page: Page, name: string) => page.getByTestId(`lock-row-${name}`)

test.describe('metadata and locks between two browsers', () => {
  test('metadata edited in one browser appears in the other; a stale edit shows the CAS conflict', async ({ browser, relayUrl }) => {
    const alice = await openPanel(browser, relayUrl, 'alice', 'metadata')
    const bob = await openPanel(browser, relayUrl, 'bob', 'metadata')
    // The panel opens on the channel everyone starts in.
    await expect(alice.getByTestId('metadata-panel')).toContainText('Channel lobby')
    for (const page of [alice, bob]) {
      await page.getByTestId('metadata-target').fill('design-review')
      await page.getByTestId('metadata-open').click()
    }

    await alice.getByTestId('metadata-new-key').fill('agenda')
    await alice.getByTestId('metadata-new-value').fill('launch plan')
    await alice.getByTestId('metadata-add').click()
    await expect(row(bob, 'agenda').getByTestId('metadata-value')).toHaveText('launch plan')
    await expect(row(bob, 'agenda').getByTestId('metadata-author')).toHaveText('alice')

    // Alice starts editing at the current revision; bob changes the item meanwhile.
    await alice.getByTestId('metadata-row-agenda').getByTestId('metadata-edit').click()
    await bob.getByTestId('metadata-row-agenda').getByTestId('metadata-edit').click()
    await bob.getByTestId('metadata-edit-value').fill('landing plan')
    await bob.getByTestId('metadata-save').click()
    await expect(row(alice, 'agenda').getByTestId('metadata-author')).toHaveText('bob')

    // Alice's save was based on the old revision: refused, shown, and bob's value stays.
    await alice.getByTestId('metadata-edit-value').fill('alice overwrites')
    await alice.getByTestId('metadata-save').click()
    await expect(alice.getByTestId('metadata-error')).toContainText('-12014')
    await expect(row(bob, 'agenda').getByTestId('metadata-value')).toHaveText('landing plan')

    await bob.getByTestId('metadata-row-agenda').getByTestId('metadata-remove').click()
    await expect(row(alice, 'agenda')).toHaveCount(0)
    for (const page of [alice, bob]) await page.context().close()
  })

  test('a lock held in one browser shows its owner in the other, which gets it after the TTL once the holder closes', async ({ browser, relayUrl }) => {
    test.setTimeout(90_000)
    // Users of their own: the same user id signing in elsewhere would take over the session.
    const alice = await openPanel(browser, relayUrl, 'lena', 'locks')
    const bob = await openPanel(browser, relayUrl, 'omar', 'locks')
    await expect(alice.getByTestId('locks-set')).toBeVisible() // opened on the starting channel
    for (const page of [alice, bob]) {
      await page.getByTestId('locks-channel').fill('studio')
      await page.getByTestId('locks-open').click()
    }

    await alice.getByTestId('locks-name').fill('mic')
    await alice.getByTestId('locks-ttl').fill(String(TTL_S))
    await alice.getByTestId('locks-set').click()
    await lockRow(alice, 'mic').getByTestId('lock-acquire').click()
    await expect(lockRow(bob, 'mic').getByTestId('lock-owner')).toHaveText('lena')

    // Bob waits in line; alice's browser goes away without releasing.
    await lockRow(bob, 'mic').getByTestId('lock-acquire-retry').click()
    await expect(lockRow(bob, 'mic').getByTestId('lock-waiting')).toBeVisible()
    const closedAt = Date.now()
    await alice.context().close()

    await expect(lockRow(bob, 'mic').getByTestId('lock-owner')).toHaveText('omar', { timeout: (TTL_S + PRESENCE_TIMEOUT_S + 20) * 1000 })
    expect(Date.now() - closedAt).toBeGreaterThanOrEqual(TTL_S * 1000)
    await expect(lockRow(bob, 'mic').getByTestId('lock-waiting')).toHaveCount(0)
    await expect(lockRow(bob, 'mic').getByTestId('lock-release')).toBeVisible()
    await bob.context().close()
  })
  test('topic streams: a subscriber picks a publisher and sees its messages with the publisher meta', async ({ browser, relayUrl }) => {
    const presenter = await openPanel(browser, relayUrl, 'pia', 'topics')
    const viewer = await openPanel(browser, relayUrl, 'vic', 'topics')
    for (const page of [presenter, viewer]) {
      await page.getByTestId('topics-channel').fill('stage')
      await page.getByTestId('topics-join').click()
      await expect(page.getByTestId('topics-joined-channel')).toHaveText('stage')
    }
    await presenter.getByTestId('topics-topic-name').fill('slides')
    await presenter.getByTestId('topics-topic-meta').fill('presenter laptop')
    await presenter.getByTestId('topics-join-topic').click()

    const card = viewer.getByTestId('topic-slides')
    await card.getByTestId('topic-publisher-pia').getByRole('checkbox').check()
    await card.getByTestId('topic-subscribe').click()
    await expect(card.getByTestId('topic-publisher-pia').getByTestId('topic-subscribed')).toBeVisible()

    for (const text of ['slide 1', 'slide 2']) {
      await presenter.getByTestId('topic-slides').getByTestId('topic-message').fill(text)
      await presenter.getByTestId('topic-slides').getByTestId('topic-publish').click()
    }
    await expect(card.getByTestId('feed-text')).toHaveText(['slide 1', 'slide 2'])
    await expect(card.getByTestId('feed-publisher').first()).toHaveText('pia')
    await expect(card.getByTestId('feed-meta').first()).toHaveText('presenter laptop')

    // A message over 1 KB is refused by the coordinator and the panel says why.
    await presenter.evaluate(() => {
      const input = document.querySelector<HTMLInputElement>('[data-testid="topic-message"]')!
      input.removeAttribute('maxlength')
    })
    await presenter.getByTestId('topic-slides').getByTestId('topic-message').fill('x'.repeat(1100))
    await presenter.getByTestId('topic-slides').getByTestId('topic-publish').click()
    await expect(presenter.getByTestId('topics-error')).toContainText('-11010')
    for (const page of [presenter, viewer]) await page.context().close()
  })
})
