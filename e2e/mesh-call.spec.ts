import type { Browser, Page } from '@playwright/test'
import { expect, test } from './fixtures'

/**
 * A video call in mesh mode, through the UI: two browsers (separate contexts, no shared
 * BroadcastChannel) whose call signaling goes through the mesh coordinator — one of them —
 * over PeerJS data channels; the media flows directly between them.
 */
async function meshUser(browser: Browser, relayUrl: string, appId: string, userId: string): Promise<Page> {
  const context = await browser.newContext({ permissions: ['camera', 'microphone'] })
  const page = await context.newPage()
  await page.goto(`${relayUrl}/?user=${userId}&mode=mesh&app=${appId}#calls`)
  await expect(page.getByTestId('link-state')).toHaveAttribute('data-state', 'CONNECTED')
  await expect(page.getByTestId('header-mode')).toHaveText('mesh')
  await page.getByTestId('calls-my-sid').filter({ hasText: userId }).waitFor()
  return page
}

test('mesh mode: the sign-in picks mesh, the header names the coordinator, and a video call connects', async ({ browser, relayUrl }) => {
  const appId = `mesh-call-${Date.now()}`
  const alice = await meshUser(browser, relayUrl, appId, 'alice')
  const bob = await meshUser(browser, relayUrl, appId, 'bob')
  const coordinators = [await alice.getByTestId('header-coordinator').textContent(), await bob.getByTestId('header-coordinator').textContent()]
  expect(coordinators.filter((text) => text?.startsWith('this browser'))).toHaveLength(1)
  expect(coordinators).toContain(`peer ${appId}-coordinator`)

  await alice.locator('[data-testid=calls-peer][data-sid="bob"]').getByTestId('calls-call').click()
  await expect(bob.getByTestId('calls-incoming')).toBeVisible()
  await bob.getByTestId('calls-accept').click()
  for (const page of [alice, bob]) {
    await expect(page.getByTestId('calls-connection-state')).toHaveText(/CONNECTED/i, { timeout: 15_000 })
    const video = page.getByTestId('calls-remote-video')
    await expect.poll(() => video.evaluate((v: HTMLVideoElement) => v.getVideoPlaybackQuality().totalVideoFrames), { timeout: 15_000 }).toBeGreaterThan(5)
  }
  await alice.getByTestId('calls-hangup').click()
  await expect(bob.getByTestId('calls-ended')).toBeVisible()
  for (const page of [alice, bob]) await page.context().close()
})
