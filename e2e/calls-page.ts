import type { Page } from '@playwright/test'

/**
 * Opens the app as `userId` and shows the Calls panel, ready to call: our sId is
 * registered and the panel is on screen. Shared by e2e/calls.spec.ts and bench/calls-driver.ts.
 */
export async function openAppAs<P extends Page>(page: P, baseUrl: string, userId: string): Promise<P> {
  await page.goto(`${baseUrl}/?user=${encodeURIComponent(userId)}#calls`)
  await page.getByTestId('calls-my-sid').filter({ hasText: userId }).waitFor()
  return page
}
