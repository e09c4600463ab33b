import { expect, type Page } from '@playwright/test'
import { openApp } from './open-app'

/**
 * Opens the app as `userId` and shows the Calls panel, ready to call: our sId is
 * registered and the panel is on screen. Shared by e2e/calls.spec.ts and bench/calls-driver.ts.
 */
export async function openAppAs<P extends Page>(page: P, baseUrl: string, userId: string): Promise<P> {
  await openApp(page, `${baseUrl}/?user=${encodeURIComponent(userId)}#calls`, () => page.getByTestId('calls-my-sid').filter({ hasText: userId }).waitFor())
  return page
}

/** The row of `sId` in a Calls panel's peer list. */
export function peerRow(page: Page, sId: string) {
  return page.locator(`[data-testid=calls-peer][data-sid="${sId}"]`)
}

/** `a` calls `bob` from its peer list and waits until `b` (bob's page) shows the incoming call. */
export async function ring(a: Page, b: Page, bob: string) {
  await peerRow(a, bob).getByTestId('calls-call').click()
  await expect(b.getByTestId('calls-incoming')).toBeVisible()
}

/** Waits until the remote video has decoded frames and its frame count and time keep growing. */
export async function expectRemoteFramesAdvancing(page: Page) {
  const video = page.getByTestId('calls-remote-video')
  const often = { intervals: [50], timeout: 15_000 }
  await expect.poll(() => video.evaluate((v: HTMLVideoElement) => v.getVideoPlaybackQuality().totalVideoFrames), often).toBeGreaterThan(0)
  const before = await video.evaluate((v: HTMLVideoElement) => ({ frames: v.getVideoPlaybackQuality().totalVideoFrames, time: v.currentTime }))
  await expect.poll(() => video.evaluate((v: HTMLVideoElement) => v.getVideoPlaybackQuality().totalVideoFrames), often).toBeGreaterThan(before.frames + 5)
  await expect.poll(() => video.evaluate((v: HTMLVideoElement) => v.currentTime), often).toBeGreaterThan(before.time)
  expect(await video.evaluate((v: HTMLVideoElement) => [v.videoWidth > 0, v.videoHeight > 0])).toEqual([true, true])
}

/** `a` calls `bob`, `b` (bob's page) accepts, and both see the call ACTIVE. */
export async function inCall(a: Page, b: Page, bob: string) {
  await ring(a, b, bob)
  await b.getByTestId('calls-accept').click()
  for (const page of [a, b]) await expect(page.getByTestId('calls-session-state')).toHaveAttribute('data-state', 'ACTIVE')
}

/**
 * `a` (`alice`'s page) calls `bob`; `b` (bob's page) sees who calls and accepts; both show the
 * call ACTIVE and its media connected, with the other's video advancing.
 */
export async function connectedVideoCall(a: Page, b: Page, alice: string, bob: string) {
  await ring(a, b, bob)
  await expect(b.getByTestId('calls-incoming')).toContainText(alice)
  await b.getByTestId('calls-accept').click()
  for (const page of [a, b]) {
    await expect(page.getByTestId('calls-session-state')).toHaveAttribute('data-state', 'ACTIVE')
    await expectRemoteFramesAdvancing(page)
    await expect(page.getByTestId('calls-connection-state')).toHaveText('connected')
  }
}
