import type { Browser, BrowserContext, Page } from '@playwright/test'
import { expect, test } from './fixtures'
import { createRoom, expectPlayingRemotes, joinByLink, remoteTiles } from './rooms-page'

/**
 * Rooms (issue 13) in the serverless modes, through the Rooms panel with the fake camera:
 * the RoomClient works wherever the RTM client does. Tabs mode: three tabs of one browser,
 * one of them the coordinator, share an m2m room; the coordinator tab closes and the two
 * others, reconnected to the tab that took over, rejoin (recreating the room the new
 * coordinator never had) and see each other again on new connections. Mesh mode: three
 * browsers that share nothing, one of them coordinating over PeerJS data channels; the
 * same failover when the coordinator's browser closes. Runs inside scripts/netns-run
 * (WebRTC never uses loopback).
 */

type Mode = 'tabs' | 'mesh'

/** Opens the app as `userId` in `mode` on the Rooms panel; resolves once the link is up and the lobby shows. */
async function openRoomsIn(page: Page, relayUrl: string, mode: Mode, appId: string, userId: string): Promise<Page> {
  await page.goto(`${relayUrl}/?user=${encodeURIComponent(userId)}&mode=${mode}&app=${encodeURIComponent(appId)}#rooms`)
  await expect(page.getByTestId('link-state')).toHaveAttribute('data-state', 'CONNECTED')
  await expect(page.getByTestId('header-mode')).toHaveText(mode)
  await expect(page.getByTestId('rooms-state')).toHaveAttribute('data-state', 'unjoined')
  return page
}

/** The link of a room made in `mode` brings its joiners into the same mode and app. */
function expectLinkFor(link: string, mode: Mode, appId: string): void {
  const url = new URL(link)
  expect(url.searchParams.get('mode')).toBe(mode)
  expect(url.searchParams.get('app')).toBe(appId)
}

/**
 * The page that coordinates, once every page agrees: its header says "this tab (<id>)" /
 * "this browser (<peer id>)" and every other page names it ("tab <id>" / "peer <appId>-coordinator").
 * Not always the first page: a tab or browser that does not answer for a while (a busy box)
 * is replaced, so a test asks rather than assumes.
 */
async function coordinatingPage(pages: Page[], mode: Mode, appId: string, timeout = 20_000): Promise<{ page: Page; id: string }> {
  const own = mode === 'tabs' ? 'this tab (' : 'this browser ('
  let found: { page: Page; id: string } | null = null
  await expect.poll(async () => {
    const described = await Promise.all(pages.map(async (page) => (await page.getByTestId('header-coordinator').textContent()) ?? ''))
    const coordinating = described.filter((text) => text.startsWith(own))
    if (coordinating.length !== 1) return `no single coordinator: ${described.join(' | ')}`
    const id = coordinating[0]!.slice(own.length, -1)
    const followerText = mode === 'tabs' ? `tab ${id}` : `peer ${appId}-coordinator`
    if (!described.every((text) => text === coordinating[0] || text === followerText)) return `disagreement: ${described.join(' | ')}`
    found = { page: pages[described.indexOf(coordinating[0]!)]!, id }
    return 'agreed'
  }, { timeout }).toBe('agreed')
  return found!
}

/** Tags every remote video's current stream, so a later check can tell a stream from a new connection. */
function tagStreams(page: Page): Promise<number> {
  return remoteTiles(page).locator('video').evaluateAll((videos) => videos.filter((video) => {
    const stream = (video as HTMLVideoElement).srcObject as (MediaStream & { tagged?: boolean }) | null
    if (stream) stream.tagged = true
    return stream !== null
  }).length)
}

/** How many remote videos show a stream that arrived after tagStreams (a new receiving connection). */
function freshStreams(page: Page): Promise<number> {
  return remoteTiles(page).locator('video').evaluateAll((videos) => videos.filter((video) => {
    const stream = (video as HTMLVideoElement).srcObject as (MediaStream & { tagged?: boolean }) | null
    return stream !== null && !stream.tagged
  }).length)
}

/** Every member of `users` (by page) sees the others' cameras playing, and the same member count. */
async function expectEveryonePlaying(pages: Page[], users: string[]): Promise<void> {
  for (const [i, page] of pages.entries()) {
    await expect(page.getByTestId('rooms-member-count')).toHaveText(`(${users.length})`, { timeout: 20_000 })
    await expectPlayingRemotes(page, users.filter((user) => user !== users[i]))
  }
}

/**
 * The coordinator page of a room of `users` (one per page) closes; the survivors agree on
 * a new coordinator, rejoin (the new coordinator never had the room: one of them recreates
 * it and is its admin) and play each other's video on new connections.
 */
async function closeCoordinatorAndExpectRoomBack(pages: Page[], users: string[], mode: Mode, appId: string): Promise<void> {
  const before = await coordinatingPage(pages, mode, appId)
  const survivors = pages.filter((page) => page !== before.page)
  const survivorUsers = users.filter((_, i) => pages[i] !== before.page)
  // Tagged once each survivor shows every remote stream (a busy box may be mid-reconnect: the SDK is restoring one).
  for (const page of survivors) await expect.poll(() => tagStreams(page)).toBe(users.length - 1)
  // Mesh: the whole browser goes (its broker socket closes); tabs: only the tab.
  await (mode === 'mesh' ? before.page.context().close() : before.page.close())

  const after = await coordinatingPage(survivors, mode, appId, 30_000)
  if (mode === 'tabs') expect(after.id).not.toBe(before.id)
  for (const page of survivors) {
    await expect(page.getByTestId('link-state')).toHaveAttribute('data-state', 'CONNECTED', { timeout: 20_000 })
    await expect(page.getByTestId('rooms-state')).toHaveAttribute('data-state', 'joined')
    await expect(page.getByTestId('rooms-error')).toHaveCount(0)
    await expect.poll(() => freshStreams(page), { timeout: 20_000 }).toBe(survivors.length - 1)
  }
  await expectEveryonePlaying(survivors, survivorUsers)
  const roles = await Promise.all(survivors.map((page) => page.getByTestId('rooms-my-role').getAttribute('data-role')))
  expect(roles.filter((role) => role === 'admin')).toHaveLength(1)
}

test.describe('rooms in tabs mode', () => {
  test('three tabs share an m2m room and play each other; the coordinator tab closes, the room comes back on the new coordinator and plays again', async ({ browser, relayUrl }) => {
    // Three pages of one browser, each encoding its camera twice and decoding two videos, twice over.
    test.setTimeout(180_000)
    const appId = `rooms-tabs-${Date.now()}`
    const users = ['ann-tabs', 'ben-tabs', 'cat-tabs']
    const context: BrowserContext = await browser.newContext({ permissions: ['camera', 'microphone'] })
    try {
      const ann = await openRoomsIn(await context.newPage(), relayUrl, 'tabs', appId, users[0]!)
      const link = await createRoom(ann, 'm2m')
      expectLinkFor(link, 'tabs', appId)
      const pages = [ann]
      for (const user of users.slice(1)) {
        const page = await context.newPage()
        await joinByLink(page, link, user)
        await expect(page.getByTestId('header-mode')).toHaveText('tabs')
        pages.push(page)
      }
      await coordinatingPage(pages, 'tabs', appId)
      await expectEveryonePlaying(pages, users)

      await closeCoordinatorAndExpectRoomBack(pages, users, 'tabs', appId)
    } finally {
      await context.close()
    }
  })
})

test.describe('rooms in mesh mode', () => {
  const opened: BrowserContext[] = []
  test.afterEach(async () => {
    for (const context of opened.splice(0)) await context.close().catch(() => undefined)
  })

  /** A browser of its own (no shared BroadcastChannel or storage): a person on another machine. */
  async function meshPerson(browser: Browser): Promise<Page> {
    const context = await browser.newContext({ permissions: ['camera', 'microphone'] })
    opened.push(context)
    return context.newPage()
  }

  test('three browsers, one of them the coordinator over PeerJS, share an m2m room and play each other; the coordinator browser closes and the room comes back', async ({ browser, relayUrl }) => {
    test.setTimeout(180_000)
    const appId = `rooms-mesh-${Date.now()}`
    const users = ['amy-mesh', 'bo-mesh', 'cy-mesh']
    const amy = await openRoomsIn(await meshPerson(browser), relayUrl, 'mesh', appId, users[0]!)
    const link = await createRoom(amy, 'm2m')
    expectLinkFor(link, 'mesh', appId)
    const pages = [amy]
    for (const user of users.slice(1)) {
      const page = await meshPerson(browser)
      await joinByLink(page, link, user)
      await expect(page.getByTestId('header-mode')).toHaveText('mesh')
      pages.push(page)
    }
    await coordinatingPage(pages, 'mesh', appId)
    await expectEveryonePlaying(pages, users)

    await closeCoordinatorAndExpectRoomBack(pages, users, 'mesh', appId)
  })
})
