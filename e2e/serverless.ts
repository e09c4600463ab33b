import { expect, type BrowserContext, type Page } from '@playwright/test'
import { createServer, type ViteDevServer } from 'vite'
import { test as base } from './fixtures'
import type { Harness } from './harness/sdk-harness'

/**
 * For the serverless modes (tabs, mesh): a Vite dev server for the SDK harness page
 * (e2e/harness/sdk.html), which runs the real SDK in each page and records its events;
 * plus the shared fixtures' relay (mesh mode's PeerJS broker).
 */
export const test = base.extend<object, { harnessUrl: string }>({
  harnessUrl: [async ({}, use, workerInfo) => {
    const server: ViteDevServer = await createServer({
      configFile: 'vite.config.ts',
      logLevel: 'error',
      // One dependency cache per worker: two dev servers must not optimize into the same folder at once.
      cacheDir: `node_modules/.vite-e2e-${workerInfo.workerIndex}`,
      server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false },
      // Pre-bundled up front: a dependency found later would reload every open page.
      optimizeDeps: { include: ['idb', 'zod', 'socket.io-client', 'peerjs'] },
    })
    await server.listen()
    const address = server.httpServer?.address()
    const port = typeof address === 'object' && address ? address.port : 0
    await use(`http://127.0.0.1:${port}/e2e/harness/sdk.html`)
    await server.close()
  }, { scope: 'worker' }],
})

export { expect } from '@playwright/test'

/** Opens the harness in a new page of `context` and logs `userId` in with `config`. */
export async function openClient(context: BrowserContext, url: string, appId: string, userId: string, mode: 'tabs' | 'mesh', extra: Record<string, unknown> = {}): Promise<Page> {
  const page = await context.newPage()
  await page.goto(url)
  await page.waitForFunction(() => 'harness' in globalThis)
  await page.evaluate(([appId, userId, config]) => harness.start(appId, userId, config), [appId, userId, { transport: mode, ...extra }] as const)
  return page
}

declare global {
  /** The SDK harness of the page (only inside page.evaluate). */
  var harness: Harness
}

/** Who the client thinks coordinates (the transport's description). */
export function coordinatorOf(page: Page): Promise<string> {
  return page.evaluate(() => harness.rtm!.coordinator)
}

/** The one page whose client says "this tab" coordinates, once every other page names that tab. */
export async function coordinatorPage(pages: Page[]): Promise<Page> {
  let found: Page | null = null
  await expect.poll(async () => {
    const described = await Promise.all(pages.map(coordinatorOf))
    const own = described.filter((text) => text.startsWith('this tab'))
    if (own.length !== 1) return `no single coordinator: ${described.join(' | ')}`
    const id = own[0].slice('this tab ('.length, -1)
    if (!described.every((text) => text === own[0] || text === `tab ${id}`)) return `disagreement: ${described.join(' | ')}`
    found = pages[described.indexOf(own[0])]
    return 'agreed'
  }, { timeout: 15_000 }).toBe('agreed')
  return found!
}
