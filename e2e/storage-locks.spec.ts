import type { Browser, Page } from '@playwright/test'
import { expectAxeClean } from './axe'
import { expect, test } from './fixtures'

/** Lock TTL at its minimum (seed 000: [10, 300] s) and a short presence timeout keep the wait short. */
const TTL_S = 10
const PRESENCE_TIMEOUT_S = 5

/** A signed-in user in their own browser context, showing one panel. */
async function openPanel(browser: Browser, relayUrl: string, userId: string, panel: 'metadata' | 'locks' | 'topics'): Promise<Page> {
  const context = await browser.newContext()
  const page = await context.newPage()
  await page.goto(`${relayUrl}/?user=${userId}&presenceTimeout=${PRESENCE_TIMEOUT_S}`)
  await expect(page.getByTestId('link-state')).toHaveAttribute('data-state', 'CONNECTED')
  await page.getByTestId(`tab-${panel}`).click()
  return page
}

const row = (page: Page, key: string) => page.getByTestId(`metadata-row-${key}`)
const lockRow = (page: Page, name: string) => page.getByTestId(`lock-row-${name}`)

/** No axe violation inside `selectors`, on a phone and on a laptop, in both themes. */
async function expectAxeCleanAtWidths(page: Page, selectors: string[]): Promise<void> {
  const viewport = page.viewportSize()!
  for (const width of [390, 1280]) {
    await page.setViewportSize({ width, height: 844 })
    await expectAxeClean(page, selectors)
  }
  await page.setViewportSize(viewport)
}

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

    // Alice's save was based on the old revision: refused, and she sees hers beside what bob stored.
    await alice.getByTestId('metadata-edit-value').fill('alice overwrites')
    await alice.getByTestId('metadata-save').click()
    await expect(alice.getByTestId('metadata-error')).toContainText('-12014')
    const conflict = alice.getByTestId('metadata-conflict')
    await expect(conflict.getByTestId('metadata-conflict-mine')).toHaveText('alice overwrites')
    await expect(conflict.getByTestId('metadata-conflict-theirs')).toHaveText('landing plan')
    await expect(conflict).toBeFocused()
    await expect(row(bob, 'agenda').getByTestId('metadata-value')).toHaveText('landing plan')
    await expectAxeCleanAtWidths(alice, ['[data-testid="metadata-panel"]'])

    // Take theirs: her edit is dropped and bob's value stays, in both browsers.
    await conflict.getByTestId('metadata-take-theirs').click()
    await expect(conflict).toHaveCount(0)
    await expect(row(alice, 'agenda').getByTestId('metadata-value')).toHaveText('landing plan')
    await expect(row(alice, 'agenda').getByTestId('metadata-edit')).toBeFocused()
    await expect(row(bob, 'agenda').getByTestId('metadata-value')).toHaveText('landing plan')

    // Another stale edit; this time she keeps hers, written again against bob's new revision.
    await row(alice, 'agenda').getByTestId('metadata-edit').click()
    await row(bob, 'agenda').getByTestId('metadata-edit').click()
    await bob.getByTestId('metadata-edit-value').fill('bob again')
    await bob.getByTestId('metadata-save').click()
    await expect(row(bob, 'agenda').getByTestId('metadata-value')).toHaveText('bob again')
    await alice.getByTestId('metadata-edit-value').fill('alice final')
    await alice.getByTestId('metadata-save').click()
    await expect(conflict.getByTestId('metadata-conflict-theirs')).toHaveText('bob again')
    await conflict.getByTestId('metadata-keep-mine').click()
    await expect(conflict).toHaveCount(0)
    await expect(row(bob, 'agenda').getByTestId('metadata-value')).toHaveText('alice final')
    await expect(row(bob, 'agenda').getByTestId('metadata-author')).toHaveText('alice')
    await expect(row(alice, 'agenda').getByTestId('metadata-edit')).toBeFocused()

    // Removing asks first.
    await row(bob, 'agenda').getByTestId('metadata-remove').click()
    await bob.getByTestId('confirm-dialog').getByTestId('confirm-ok').click()
    await expect(row(alice, 'agenda')).toHaveCount(0)
    for (const page of [alice, bob]) await page.context().close()
  })

  test('a lock held in one browser shows its owner in the other, which gets it after the TTL once the holder closes', async ({ browser, relayUrl }) => {
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
  test('revoking someone else’s lock asks first: cancel keeps it, confirming takes it away', async ({ browser, relayUrl }) => {
    const holder = await openPanel(browser, relayUrl, 'rita', 'locks')
    const other = await openPanel(browser, relayUrl, 'sam', 'locks')
    for (const page of [holder, other]) {
      await page.getByTestId('locks-channel').fill('workshop')
      await page.getByTestId('locks-open').click()
    }
    await holder.getByTestId('locks-name').fill('projector')
    await holder.getByTestId('locks-set').click()
    await lockRow(holder, 'projector').getByTestId('lock-acquire').click()
    await expect(lockRow(other, 'projector').getByTestId('lock-owner')).toHaveText('rita')
    await expectAxeCleanAtWidths(other, ['[data-testid="locks-panel"]'])

    const revoke = lockRow(other, 'projector').getByTestId('lock-revoke')
    const dialog = other.getByTestId('confirm-dialog')
    await revoke.click()
    await expect(dialog).toBeVisible()
    await expect(dialog).toContainText('rita')
    await expect(dialog.getByTestId('confirm-cancel')).toBeFocused()
    await expectAxeCleanAtWidths(other, ['[data-testid="confirm-dialog"]'])
    await other.keyboard.press('Escape')
    await expect(dialog).toHaveCount(0)
    await expect(revoke).toBeFocused()
    await revoke.click()
    await dialog.getByTestId('confirm-cancel').click()
    await expect(dialog).toHaveCount(0)
    await expect(revoke).toBeFocused()
    await expect(lockRow(holder, 'projector').getByTestId('lock-owner')).toHaveText('rita')
    await expect(lockRow(other, 'projector').getByTestId('lock-owner')).toHaveText('rita')

    await revoke.click()
    await dialog.getByTestId('confirm-ok').click()
    await expect(lockRow(holder, 'projector').getByTestId('lock-owner')).toHaveText('Free')
    await expect(lockRow(other, 'projector').getByTestId('lock-owner')).toHaveText('Free')
    // The Revoke button went with the owner: focus moved to the row's next control, not to <body>.
    await expect(lockRow(other, 'projector').getByTestId('lock-acquire')).toBeFocused()
    for (const page of [holder, other]) await page.context().close()
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
