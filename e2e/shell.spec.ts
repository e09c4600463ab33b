import type { Browser, Page } from '@playwright/test'
import { expectAxeClean } from './axe'
import { person, send, signInAs } from './chat-page'
import { expect, test } from './fixtures'

/**
 * The frame around the panels: the header on a small phone, the theme choice, the tab strip
 * that scrolls, and the count of new things in the tab's title.
 */

const NARROWEST = { width: 360, height: 740 }

async function openAs(browser: Browser, relayUrl: string, userId: string, viewport = NARROWEST): Promise<Page> {
  const context = await browser.newContext({ viewport })
  return signInAs(await context.newPage(), relayUrl, userId)
}

test('on a 360 px phone a 64-character user id is truncated, readable in full, and never pushes Log out off-screen', async ({ browser, relayUrl }) => {
  const longId = `u${'x'.repeat(62)}z`
  const page = await openAs(browser, relayUrl, longId)
  const user = page.getByTestId('header-user')
  await expect(user).toHaveAttribute('title', longId)
  const logout = (await page.getByTestId('logout').boundingBox())!
  expect(logout.x + logout.width).toBeLessThanOrEqual(NARROWEST.width)
  expect(await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBe(0)
  // Truncated, then shown whole while focused.
  expect(await user.evaluate((element) => element.scrollWidth > element.clientWidth)).toBe(true)
  await user.focus()
  expect(await user.evaluate((element) => element.scrollWidth > element.clientWidth)).toBe(false)
  await expect(page.getByTestId('link-state')).toHaveText('Connected')
  await expectAxeClean(page)
  await page.context().close()
})

test('the theme can be chosen in the header and is kept after a reload', async ({ browser, relayUrl }) => {
  const page = await openAs(browser, relayUrl, 'theo')
  await page.emulateMedia({ colorScheme: 'light' })
  await page.getByRole('combobox', { name: 'Theme' }).selectOption('dark')
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark')
  await expect.poll(() => page.evaluate(() => getComputedStyle(document.body).colorScheme)).toBe('dark')
  await expectAxeClean(page, [], ['light'])
  await page.reload()
  await expect(page.getByTestId('link-state')).toHaveAttribute('data-state', 'CONNECTED')
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark')
  await page.getByRole('combobox', { name: 'Theme' }).selectOption('system')
  await expect(page.locator('html')).not.toHaveAttribute('data-theme', /./)
  await page.context().close()
})

test('on a phone the tab strip scrolls: an edge fades where tabs hide, and the selected tab is scrolled into view', async ({ browser, relayUrl }) => {
  const page = await openAs(browser, relayUrl, 'tess')
  const strip = page.getByRole('tablist', { name: 'Panels' })
  await expect(strip.locator('..')).toHaveClass(/more-after/)
  await expect(strip.locator('..')).not.toHaveClass(/more-before/)
  await page.getByTestId('tab-chat').focus()
  await page.keyboard.press('End')
  await expect(page.getByTestId('tab-log')).toBeFocused()
  await expect(page.getByTestId('tab-log')).toHaveAttribute('aria-selected', 'true')
  await expect(page.getByTestId('tab-log')).toBeInViewport({ ratio: 1 })
  await expect(strip.locator('..')).toHaveClass(/more-before/)
  await page.keyboard.press('Home')
  await expect(page.getByTestId('tab-chat')).toBeInViewport({ ratio: 1 })
  await page.context().close()
})

test('new messages on another panel show on its tab and as a count in the page title', async ({ browser, relayUrl }) => {
  const laptop = { width: 1280, height: 800 }
  const uma = await openAs(browser, relayUrl, 'uma', laptop)
  const vic = await openAs(browser, relayUrl, 'vic', laptop)
  await expect(uma).toHaveTitle('Signal Kit')
  await uma.getByTestId('tab-calls').click()
  await person(vic, 'uma').getByTestId('dm-open').click()
  await send(vic, 'one')
  await send(vic, 'two')
  await expect(uma.getByTestId('tab-chat').locator('.badge')).toHaveText('2')
  await expect(uma).toHaveTitle('(2) Signal Kit')
  await uma.getByTestId('tab-chat').click()
  await uma.locator('[data-testid="dm-item"][data-peer="vic"]').click()
  await expect(uma).toHaveTitle('Signal Kit')
  await uma.context().close()
  await vic.context().close()
})
