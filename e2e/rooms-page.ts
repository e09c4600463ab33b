import { expect, type Browser, type Locator, type Page } from '@playwright/test'
import type { RoomType } from '../src/protocol/room-codes'

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

/** Creates a room of `type` from the lobby; resolves with the room's link once we are in it as its host. */
export async function createRoom(page: Page, type: RoomType): Promise<string> {
  await page.getByTestId(`rooms-type-${type}`).check()
  await page.getByTestId('rooms-create').click()
  await expect(page.getByTestId('rooms-state')).toHaveAttribute('data-state', 'joined')
  await expect(page.getByTestId('rooms-my-role')).toHaveAttribute('data-role', 'admin')
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

const often = { intervals: [100], timeout: 20_000 }

interface Playback { user: string; frames: number; time: number; sized: boolean }

/** Every remote tile's playback, in one round trip (a busy box makes each round trip count). */
function playback(page: Page): Promise<Playback[]> {
  return page.locator('[data-testid=rooms-tile][data-own=""]').evaluateAll((tiles) => tiles.map((tile) => {
    const video = tile.querySelector('video')!
    // A screen share is `<userId>:screen`.
    const user = `${tile.getAttribute('data-user') ?? ''}${tile.getAttribute('data-category') === 'screenshare' ? ':screen' : ''}`
    return { user, frames: video.getVideoPlaybackQuality().totalVideoFrames, time: video.currentTime, sized: video.videoWidth > 0 && video.videoHeight > 0 }
  }))
}

/** Whether every one of `userIds` has a remote tile whose video advanced past `since` (frames and time) with a real picture size. */
function advanced(now: Playback[], userIds: string[], since: Playback[] | null): boolean {
  return userIds.every((user) => {
    const tile = now.find((p) => p.user === user)
    const before = since?.find((p) => p.user === user)
    if (!tile || tile.frames === 0) return false
    return !before || (tile.frames > before.frames + 5 && tile.time > before.time && tile.sized)
  })
}

/**
 * The page shows exactly `userIds`' cameras (and `<userId>:screen` screens) as remote tiles,
 * each playing: frames decoded, their count and currentTime growing.
 */
export async function expectPlayingRemotes(page: Page, userIds: string[]): Promise<void> {
  await expect(remoteTiles(page)).toHaveCount(userIds.length)
  await expectPlaying(page, userIds)
}

/** `userIds`' remote tiles (among others, maybe) play in the page. */
export async function expectPlaying(page: Page, userIds: string[]): Promise<void> {
  await expect.poll(async () => advanced(await playback(page), userIds, null), often).toBe(true)
  const before = await playback(page)
  await expect.poll(async () => advanced(await playback(page), userIds, before), often).toBe(true)
}
