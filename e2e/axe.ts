import AxeBuilder from '@axe-core/playwright'
import { expect, type Page } from '@playwright/test'

/** No WCAG A/AA violation inside `selectors` (axe-core), in light mode. */
export async function expectAxeClean(page: Page, selectors: string[]): Promise<void> {
  await page.emulateMedia({ colorScheme: 'light' })
  let builder = new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'])
  for (const selector of selectors) builder = builder.include(selector)
  const { violations } = await builder.analyze()
  expect(violations.map((v) => ({ id: v.id, nodes: v.nodes.map((n) => `${n.target.join(' ')}: ${n.failureSummary}`) }))).toEqual([])
}
