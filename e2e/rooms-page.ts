import { expect, type Browser, type Locator, type Page } from '@playwright/test'
import type { RoomType } from '../src/protocol/room-codes'
import type { RoomEngine } from '../src/sdk'

/**
 * The Rooms panel from a test's side: open it as someone, create a room of a type, join by
 * the room's link, find members and tiles, and check that a tile's video plays. Shared by
 * e2e/rooms.spec.ts and bench/rooms-driver.ts.
 */

/** A page of its own browser context (its own storage and camera), as a separate person's browser would be. */
export async function newPerson(browser: Browser): Promise<Page> {
  const context = await browser.newContext({ permissions: ['camera', 'microphone'] })
  return context.newPage()
}

/** Opens the app as `userId` on the Rooms panel, in the lobby. */
export async function openRoomsAs<P extends Page>(page: P, baseUrl: string, userId: string): Promise<P> {
  await page.goto(`${baseUrl}/?user=${encodeURIComponent(userId)}#rooms`)
  // A locator wait, not expect: bench/rooms-driver.ts runs this outside Playwright Test.
  await page.locator('[data-testid=rooms-state][data-state=unjoined]').waitFor()
  return page
}

/** Creates a room of `type` from the lobby (`engine` 'sfu': the server forwards its video); resolves with the room's link once we are in it as its host. */
export async function createRoom(page: Page, type: RoomType, engine: RoomEngine = 'native'): Promise<string> {
  await page.getByTestId(`rooms-type-${type}`).check()
  if (engine === 'sfu') await page.getByTestId('rooms-engine-sfu').check()
  await page.getByTestId('rooms-create').click()
  await expect(page.getByTestId('rooms-state')).toHaveAttribute('data-state', 'joined')
  await expect(page.getByTestId('rooms-my-role')).toHaveAttribute('data-role', 'admin')
  if (engine === 'sfu') await expect(page.getByTestId('rooms-engine')).toHaveAttribute('data-engine', 'sfu')
  return page.getByTestId('rooms-link').inputValue()
}

/** Opens `link` as `userId` (the link pre-fills the join form) and joins; resolves once in the room. */
export async function joinByLink(page: Page, link: string, userId: string): Promise<void> {
  const url = new URL(link)
  url.searchParams.set('user', userId)
  await page.goto(url.toString())
  await expect(page.getByTestId('rooms-join-id')).toHaveValue(url.searchParams.get('room')!)
  await expect(page.getByTestId('rooms-join-type')).toHaveValue(url.searchParams.get('type')!)
  await page.getByTestId('rooms-join').click()
  await expect(page.getByTestId('rooms-state')).toHaveAttribute('data-state', 'joined')
}

/** `userId`'s row in a page's member list (their camera session). */
export function memberRow(page: Page, userId: string): Locator {
  return page.locator(`[data-testid=rooms-member][data-user="${userId}"]`)
}

/** Every tile of someone else in a page's video grid. */
export function remoteTiles(page: Page): Locator {
  return page.locator('[data-testid=rooms-tile][data-own=""]')
}

/**
 * The page shows exactly `userIds`' cameras (and `<userId>:screen` screens) as remote tiles,
 * each playing.
 */
export async function expectPlayingRemotes(page: Page, userIds: string[]): Promise<void> {
  await expect(remoteTiles(page)).toHaveCount(userIds.length, { timeout: 20_000 })
  await expectPlaying(page, userIds)
}

/**
 * `userIds`' remote tiles (among others, maybe) play in the page: each tile's stream decoded
 * 5 frames more than when first seen, with time advancing and a picture size. The baseline
 * is per stream, so a stream replaced meanwhile (the SDK rejoined after its link to the
 * coordinator dropped, which a busy box can cause) starts over rather than having to catch
 * up with the old one's count. One round trip per poll: a busy box makes each count.
 */
export async function expectPlaying(page: Page, userIds: string[]): Promise<void> {
  await page.waitForFunction((userIds) => {
    const seen = ((globalThis as unknown as { firstSeen?: WeakMap<MediaStream, { frames: number; time: number }> }).firstSeen ??= new WeakMap())
    const tiles = [...document.querySelectorAll<HTMLElement>('[data-testid=rooms-tile][data-own=""]')]
    return userIds.every((user) => {
      // A screen share is `<userId>:screen`.
      const tile = tiles.find((each) => `${each.dataset.user ?? ''}${each.dataset.category === 'screenshare' ? ':screen' : ''}` === user)
      const video = tile?.querySelector('video')
      const stream = video?.srcObject as MediaStream | null | undefined
      if (!video || !stream) return false
      const now = { frames: video.getVideoPlaybackQuality().totalVideoFrames, time: video.currentTime }
      const first = seen.get(stream)
      if (!first) seen.set(stream, now)
      return !!first && now.frames > first.frames + 5 && now.time > first.time && video.videoWidth > 0 && video.videoHeight > 0
    })
  }, userIds, { polling: 200, timeout: 45_000 })
}
