import type { BrowserContext, Page } from '@playwright/test'
import { expect, test } from './fixtures'
import { expectRemoteFramesAdvancing, openAppAs, peerRow, ring } from './calls-page'

/**
 * Two tabs of one browser hold a video call through the Calls panel (issue 3), with
 * Chromium's fake camera and real RTCPeerConnections. Runs inside scripts/netns-run:
 * WebRTC needs a non-loopback interface.
 */

async function twoTabs(context: BrowserContext, baseURL: string, suffix: string) {
  const alice = `alice-${suffix}`
  const bob = `bob-${suffix}`
  const a = await openAppAs(await context.newPage(), baseURL, alice)
  const b = await openAppAs(await context.newPage(), baseURL, bob)
  return { a, b, alice, bob }
}

/** Keeps the streams a tab shows now, so the test can check later that their tracks were stopped. */
async function holdStreams(page: Page) {
  await page.evaluate(() => {
    const streams = ['calls-local-video', 'calls-remote-video'].map((id) => document.querySelector<HTMLVideoElement>(`[data-testid=${id}]`)!.srcObject as MediaStream)
    ;(window as unknown as { held: MediaStream[] }).held = streams
  })
}

async function heldTrackStates(page: Page) {
  return page.evaluate(() => (window as unknown as { held: MediaStream[] }).held.map((stream) => stream.getTracks().map((track) => track.readyState)))
}

async function expectClosed(page: Page, reason: string) {
  await expect(page.getByTestId('calls-session-state')).toHaveAttribute('data-state', 'CLOSED')
  await expect(page.getByTestId('calls-ended')).toHaveAttribute('data-reason', reason)
  await expect(page.getByTestId('calls-local-video')).toHaveJSProperty('srcObject', null)
  await expect(page.getByTestId('calls-remote-video')).toHaveJSProperty('srcObject', null)
}

test('tab A calls tab B, B accepts: both see the other’s video, the ICE exchange and the states', async ({ context, baseURL }) => {
  const { a, b, alice, bob } = await twoTabs(context, baseURL!, 'video')
  await expect(peerRow(a, bob)).toHaveAttribute('data-state', 'WAIT')
  await ring(a, b, bob)
  await expect(b.getByTestId('calls-incoming')).toContainText(alice)
  await expect(a.getByTestId('calls-session-state')).toHaveAttribute('data-state', 'PENDING')
  await b.getByTestId('calls-accept').click()

  for (const page of [a, b]) {
    await expect(page.getByTestId('calls-session-state')).toHaveAttribute('data-state', 'ACTIVE')
    await expectRemoteFramesAdvancing(page)
    await expect(page.getByTestId('calls-connection-state')).toHaveText('connected')
    await expect(page.getByTestId('calls-signaling-state')).toHaveText('connected')
    // Trickle ICE went through the protocol both ways: host candidates on the namespace's interface.
    await page.getByTestId('calls-ice').getByText('Connection details').click() // collapsed by default
    await expect(page.getByTestId('ice-local').first()).toHaveAttribute('data-type', 'host')
    await expect(page.locator('[data-testid=ice-remote][data-protocol=udp]').first()).toBeVisible()
    await expect(page.getByTestId('calls-duration')).toHaveText(/^00:[0-5]\d$/)
  }
  // Parties in the call see each other as CALLING only after it ends; a third tab sees CALLING now.
  const carol = await openAppAs(await context.newPage(), baseURL!, 'carol-video')
  await expect(peerRow(carol, alice)).toHaveAttribute('data-state', 'CALLING')
  await expect(peerRow(carol, bob)).toHaveAttribute('data-state', 'CALLING')

  // Mute and camera off act on the local tracks.
  await a.getByTestId('calls-mute-audio').click()
  await a.getByTestId('calls-mute-video').click()
  expect(await a.getByTestId('calls-local-video').evaluate((v: HTMLVideoElement) => (v.srcObject as MediaStream).getTracks().map((t) => `${t.kind}:${t.enabled}`).sort())).toEqual(['audio:false', 'video:false'])
  await a.getByTestId('calls-mute-audio').click()
  expect(await a.getByTestId('calls-local-video').evaluate((v: HTMLVideoElement) => (v.srcObject as MediaStream).getAudioTracks()[0].enabled)).toBe(true)
})

test('a call rings whichever panel is open: B on Chat sees who calls, and still does on Calls', async ({ context, baseURL }) => {
  const { a, b, alice, bob } = await twoTabs(context, baseURL!, 'ringing')
  await b.getByTestId('tab-chat').click()
  await peerRow(a, bob).getByTestId('calls-call').click()
  await expect(b.getByTestId('calls-incoming')).toContainText(alice)
  await expect(b.getByTestId('tab-calls').locator('.badge')).toHaveText('1')
  await b.getByTestId('tab-calls').click()
  await expect(b.getByTestId('calls-incoming')).toContainText(alice)
  await b.getByTestId('calls-reject').click()
  await expect(b.getByTestId('tab-calls').locator('.badge')).toHaveCount(0)
})

test('hanging up closes the call on both sides and stops every track', async ({ context, baseURL }) => {
  const { a, b, bob } = await twoTabs(context, baseURL!, 'stop')
  await ring(a, b, bob)
  await b.getByTestId('calls-accept').click()
  await expectRemoteFramesAdvancing(a)
  await expectRemoteFramesAdvancing(b)
  await holdStreams(a)
  await holdStreams(b)

  await a.getByTestId('calls-hangup').click()
  await expectClosed(a, 'hangup')
  await expectClosed(b, 'stopped')
  for (const page of [a, b]) {
    await expect.poll(() => heldTrackStates(page)).toEqual([['ended', 'ended'], ['ended', 'ended']])
    await expect(page.getByTestId('calls-connection-state')).toHaveText('disconnected')
  }
  await expect(peerRow(a, bob)).toHaveAttribute('data-state', 'WAIT')
})

test('B rejects: A learns it was declined, nobody keeps the camera', async ({ context, baseURL }) => {
  const { a, b, bob } = await twoTabs(context, baseURL!, 'reject')
  await ring(a, b, bob)
  await a.evaluate(() => {
    ;(window as unknown as { held: MediaStream[] }).held = [document.querySelector<HTMLVideoElement>('[data-testid=calls-local-video]')!.srcObject as MediaStream]
  })
  await b.getByTestId('calls-reject').click()
  await expect(b.getByTestId('calls-incoming')).toHaveCount(0)
  await expectClosed(b, 'declined')
  await expectClosed(a, 'rejected')
  await expect.poll(() => heldTrackStates(a)).toEqual([['ended', 'ended']])
  // A can call again straight away.
  await ring(a, b, bob)
})

test('B’s tab closes mid-call: B’s page hangs up as it goes, so A’s call ends at once (no grace wait) and B is gone from the list', async ({ context, baseURL }) => {
  const { a, b, bob } = await twoTabs(context, baseURL!, 'leave')
  await ring(a, b, bob)
  await b.getByTestId('calls-accept').click()
  await expectRemoteFramesAdvancing(a)
  await holdStreams(a)
  await b.close({ runBeforeUnload: true })
  await expectClosed(a, 'stopped')
  await expect.poll(() => heldTrackStates(a)).toEqual([['ended', 'ended'], ['ended', 'ended']])
  await expect(peerRow(a, bob)).toHaveCount(0)
})

test('calling someone whose phone is ringing says "Busy" and changes nothing', async ({ context, baseURL }) => {
  const { a, b, alice, bob } = await twoTabs(context, baseURL!, 'busy')
  const carol = await openAppAs(await context.newPage(), baseURL!, 'carol-busy')
  await ring(a, b, bob)
  await peerRow(carol, bob).getByTestId('calls-call').click()
  await expect(carol.getByTestId('calls-ended')).toHaveAttribute('data-reason', 'busy')
  await expect(carol.getByTestId('calls-ended')).toContainText('Busy')
  await expect(carol.getByTestId('calls-error')).toHaveCount(0)
  await b.getByTestId('calls-accept').click()
  await expect(a.getByTestId('calls-session-state')).toHaveAttribute('data-state', 'ACTIVE')
  await expect(peerRow(carol, alice)).toHaveAttribute('data-state', 'CALLING')
  await expect(peerRow(carol, bob).getByTestId('calls-call')).toBeDisabled()
})
