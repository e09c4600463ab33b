import AxeBuilder from '@axe-core/playwright'
import { expect, type Page } from '@playwright/test'

export type ThemeName = 'light' | 'dark'

/** WCAG 2.0/2.1/2.2 A and AA, and axe's best practices (landmarks, headings, regions). */
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']

/** The axe violations inside `selectors` (the whole page when none), one line per node. */
export async function axeViolations(page: Page, selectors: string[] = []): Promise<{ id: string; nodes: string[] }[]> {
  let builder = new AxeBuilder({ page }).withTags(AXE_TAGS)
  for (const selector of selectors) builder = builder.include(selector)
  const { violations } = await builder.analyze()
  return violations.map((v) => ({ id: v.id, nodes: v.nodes.map((n) => `${n.target.join(' ')}: ${n.failureSummary}`) }))
}

/**
 * No axe violation inside `selectors` (the whole page when none), in each theme: the OS
 * setting is emulated, which the app follows unless the user picked a theme.
 */
export async function expectAxeClean(page: Page, selectors: string[] = [], themes: ThemeName[] = ['light', 'dark']): Promise<void> {
  for (const theme of themes) {
    await page.emulateMedia({ colorScheme: theme })
    expect(await axeViolations(page, selectors), `axe in the ${theme} theme`).toEqual([])
  }
  await page.emulateMedia({ colorScheme: 'light' })
}
