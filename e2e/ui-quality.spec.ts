import type { Page } from '@playwright/test'
import pino from 'pino'
import { startRelay, type Relay } from '../src/relay/server'
import { axeViolations, type ThemeName } from './axe'
import { signInAs } from './chat-page'
import { expect, RELAY_HOST, test } from './fixtures'

/**
 * The app as people see it: every panel on a phone and a laptop, in light and dark. Each must
 * fit the width (no sideways scroll, down to 360 px), pass axe, and look as its committed
 * screenshot does (e2e/ui-quality.spec.ts-snapshots/; `npx playwright test e2e/ui-quality.spec.ts
 * --update-snapshots` after an intended change, and look at the new pictures before committing).
 */

const PANELS = ['chat', 'calls', 'rooms', 'topics', 'metadata', 'locks', 'log'] as const
const PHONE = { width: 390, height: 844 }
const LAPTOP = { width: 1280, height: 800 }
/** The narrowest phone the layout promises to fit. */
const NARROWEST = { width: 360, height: 740 }
const THEMES: ThemeName[] = ['light', 'dark']

async function openPanel(page: Page, panel: string): Promise<void> {
  await page.getByTestId(`tab-${panel}`).click()
  await expect(page.getByTestId(`${panel}-panel`)).toBeVisible()
}

/** How far the page scrolls sideways (0 when everything fits the width). */
const sidewaysOverflow = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)

/** What changes from run to run: the coordinator's id, the event log's frames (ids, times, heartbeats) and their count. */
const volatile = (page: Page) => [page.getByTestId('header-coordinator'), page.getByTestId('log-grid'), page.getByTestId('log-summary')]

test.describe('every panel, as people see it', () => {
  // A relay of their own: the worker's shared one still lists the users of specs that ran before
  // on it (until their presence times out), and the screenshots show who is online.
  let relay: Relay
  test.beforeAll(async () => {
    relay = await startRelay({ port: 0, host: RELAY_HOST, staticDir: 'dist', logger: pino({ level: 'silent' }) })
  })
  test.afterAll(async () => { await relay.close() })

  // One test per size and theme, each with its own page: 7 views with axe and a screenshot take
  // ~10 s on a quiet 2-core machine and took minutes on a loaded CI one, where the 28 views in one
  // test ran into its timeout.
  for (const size of [PHONE, LAPTOP]) {
    for (const theme of THEMES) {
      test(`${size.width} px, ${theme}: every panel fits the width, passes axe, and matches its screenshot`, async ({ browser }) => {
        test.setTimeout(180_000)
        const context = await browser.newContext({ viewport: size, colorScheme: theme, reducedMotion: 'reduce' })
        const page = await signInAs(await context.newPage(), relay.url, 'alice')
        const axeFound: Record<string, number> = {}
        for (const panel of PANELS) {
          await openPanel(page, panel)
          const name = `${panel}-${size.width}-${theme}`
          expect.soft(await sidewaysOverflow(page), `${name} scrolls sideways`).toBe(0)
          const violations = await axeViolations(page)
          axeFound[name] = violations.length
          expect.soft(violations, `axe on ${name}`).toEqual([])
          await expect.soft(page).toHaveScreenshot(`${name}.png`, { fullPage: true, mask: volatile(page) })
        }
        console.info(`axe violations per panel: ${JSON.stringify(axeFound)}`)
        await context.close()
      })
    }
  }

  test('every panel fits the narrowest phone', async ({ browser }) => {
    const context = await browser.newContext({ viewport: NARROWEST, reducedMotion: 'reduce' })
    const page = await signInAs(await context.newPage(), relay.url, 'alice')
    for (const panel of PANELS) {
      await openPanel(page, panel)
      expect.soft(await sidewaysOverflow(page), `${panel} at 360 px scrolls sideways`).toBe(0)
    }
    await context.close()
  })

  test('the sign-in page fits a phone, passes axe in both themes, and matches its screenshot', async ({ browser }) => {
    const context = await browser.newContext({ viewport: PHONE, reducedMotion: 'reduce' })
    const page = await context.newPage()
    await page.goto(`${relay.url}/`)
    await expect(page.getByTestId('signin-submit')).toBeVisible()
    for (const theme of THEMES) {
      await page.emulateMedia({ colorScheme: theme })
      expect.soft(await sidewaysOverflow(page)).toBe(0)
      expect.soft(await axeViolations(page), `axe on sign-in (${theme})`).toEqual([])
      await expect.soft(page).toHaveScreenshot(`signin-390-${theme}.png`, { fullPage: true })
    }
    await context.close()
  })
})
