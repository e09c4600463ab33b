import type { Page, Request } from '@playwright/test'

/**
 * `page.goto(url)`, and once more if the network changed while the page loaded: specs running
 * beside this one create network namespaces (veth links in the test's namespace), and Chromium
 * then fails the requests in flight with ERR_NETWORK_CHANGED — the app's scripts among them,
 * so the app never starts (seen once in CI, the mesh-through-nginx test) — or the navigation
 * itself (seen once, the TURN call's sign-in).
 */
export async function openApp(page: Page, url: string): Promise<void> {
  let changed = false
  const onFailed = (request: Request) => { if (request.failure()?.errorText === NETWORK_CHANGED) changed = true }
  page.on('requestfailed', onFailed)
  try {
    await page.goto(url, { waitUntil: 'load' })
  } catch (error) {
    if (!String(error).includes(NETWORK_CHANGED)) throw error
    changed = true
  } finally {
    page.off('requestfailed', onFailed)
  }
  if (changed) await page.goto(url)
}

const NETWORK_CHANGED = 'net::ERR_NETWORK_CHANGED'
