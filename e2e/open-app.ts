import type { Page, Request } from '@playwright/test'

/**
 * `page.goto(url)` until `ready()` resolves, opened again (up to ATTEMPTS times) if the network
 * changed meanwhile: specs running beside this one create network namespaces (veth links in the
 * test's namespace), and Chromium then fails the requests in flight with ERR_NETWORK_CHANGED —
 * the app's scripts among them, so the app never starts (seen once in CI, the mesh-through-nginx
 * test) — or the navigation itself (seen in the TURN call's sign-in, once twice in a row), or a
 * panel's code fetched after the page loaded (seen once, the Calls panel's stylesheet in call-resume).
 */
export async function openApp(page: Page, url: string, ready: () => Promise<unknown> = async () => undefined): Promise<void> {
  for (let attempt = 1; attempt < ATTEMPTS; attempt++) {
    let onChanged = () => {}
    const changed = new Promise<'changed'>((resolve) => { onChanged = () => resolve('changed') })
    const onFailed = (request: Request) => { if (request.failure()?.errorText === NETWORK_CHANGED) onChanged() }
    page.on('requestfailed', onFailed)
    try {
      await page.goto(url, { waitUntil: 'load' })
      const shown = ready().then(() => 'ready' as const)
      shown.catch(() => undefined) // when the network changed first, the page is opened again
      if (await Promise.race([shown, changed]) === 'ready') return
    } catch (error) {
      if (!networkChanged(error)) throw error
    } finally {
      page.off('requestfailed', onFailed)
    }
  }
  await page.goto(url)
  await ready()
}

const ATTEMPTS = 4
const NETWORK_CHANGED = 'net::ERR_NETWORK_CHANGED'

/** A navigation the network change failed: named, or replaced by Chromium's error page. */
const networkChanged = (error: unknown) => String(error).includes(NETWORK_CHANGED) || String(error).includes('chrome-error://chromewebdata/')
