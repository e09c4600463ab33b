import type { BrowserContext, Page } from '@playwright/test'
import { expect, test } from './fixtures'
import { expectRemoteFramesAdvancing, inCall, openAppAs, peerRow, ring } from './calls-page'
import { expectAxeClean } from './axe'

/**
 * The call flow people recognise (issue 12): an incoming call rings on any panel, the
 * caller sees "Calling…" and why a call ended, a call bar follows you to other panels,
 * initials stand in for a camera that is off, and it all passes axe in light mode.
 * Runs inside scripts/netns-run, like e2e/calls.spec.ts.
 */

const PAGE_TITLE = 'Signal Kit'

/** Opens a page that counts the ringtone's tones playing (oscillators started and not stopped). */
async function pageWithEars(context: BrowserContext): Promise<Page> {
  const page = await context.newPage()
  await page.addInitScript(() => {
    const w = window as unknown as { tones: number }
    w.tones = 0
    const { start, stop } = OscillatorNode.prototype
    OscillatorNode.prototype.start = function (...args: Parameters<OscillatorNode['start']>) { w.tones++; return start.apply(this, args) }
    OscillatorNode.prototype.stop = function (...args: Parameters<OscillatorNode['stop']>) { w.tones--; return stop.apply(this, args) }
  })
  return page
}

const tones = (page: Page) => page.evaluate(() => (window as unknown as { tones: number }).tones)

async function twoTabs(context: BrowserContext, baseURL: string, suffix: string) {
  const alice = `alice-${suffix}`
  const bob = `bob-${suffix}`
  const a = await openAppAs(await context.newPage(), baseURL, alice)
  const b = await openAppAs(await pageWithEars(context), baseURL, bob)
  return { a, b, alice, bob }
}

test('a call rings on any panel: B on Chat gets a dialog with Accept focused, a blinking title and a ringtone, and accepts from there', async ({ context, baseURL }) => {
  const { a, b, alice, bob } = await twoTabs(context, baseURL!, 'toast')
  await b.getByTestId('tab-chat').click()
  await peerRow(a, bob).getByTestId('calls-call').click()

  const dialog = b.getByRole('alertdialog', { name: 'Incoming call' })
  await expect(dialog).toBeVisible()
  await expect(dialog).toHaveAccessibleDescription(`${alice} is calling…`)
  await expect(b.getByTestId('calls-accept')).toBeFocused()
  await expect(b.getByTestId('tab-calls').locator('.badge')).toHaveText('1')
  await expect.poll(() => tones(b)).toBe(2)
  // The title alternates between the notice and the page's own title, which counts the ringing call as new.
  await expect.poll(() => b.title(), { intervals: [100] }).toBe(`📞 ${alice} is calling…`)
  await expect.poll(() => b.title(), { intervals: [100] }).toBe(`(1) ${PAGE_TITLE}`)

  await b.getByTestId('calls-accept').click()
  await expect(dialog).toHaveCount(0)
  await expect(b.getByTestId('tab-calls')).toHaveAttribute('aria-selected', 'true')
  for (const page of [a, b]) await expect(page.getByTestId('calls-session-state')).toHaveAttribute('data-state', 'ACTIVE')
  await expectRemoteFramesAdvancing(b)
  expect(await tones(b)).toBe(0)
  await expect.poll(() => b.title()).toBe(PAGE_TITLE)
  await expect(b.getByTestId('tab-calls').locator('.badge')).toHaveCount(0)
})

test('Esc declines: focus goes back where it was, the caller reads "Declined", the callee "You declined"', async ({ context, baseURL }) => {
  const { a, b, bob } = await twoTabs(context, baseURL!, 'esc')
  await b.getByTestId('tab-chat').click()
  await b.getByTestId('composer-input').focus()
  await ring(a, b, bob)
  await expect(b.getByTestId('calls-accept')).toBeFocused()

  await b.keyboard.press('Escape')
  await expect(b.getByTestId('calls-incoming')).toHaveCount(0)
  await expect(b.getByTestId('composer-input')).toBeFocused()
  expect(await tones(b)).toBe(0)
  await expect.poll(() => b.title()).toBe(PAGE_TITLE)
  await expect(a.getByTestId('calls-ended')).toHaveAttribute('data-reason', 'rejected')
  await expect(a.getByTestId('calls-ended')).toContainText('Declined')
  await expect(b.getByTestId('calls-ended')).toHaveAttribute('data-reason', 'declined')
  await expect(b.getByTestId('calls-ended')).toContainText('You declined')
  // B was on Chat: the call bar there says how it ended.
  await expect(b.getByTestId('callbar-ended')).toContainText('You declined')
})

test('the ringtone mute is respected at once and remembered after a reload; the title still blinks', async ({ context, baseURL }) => {
  const { a, b, alice, bob } = await twoTabs(context, baseURL!, 'mute')
  await ring(a, b, bob)
  await expect.poll(() => tones(b)).toBe(2)
  await b.getByRole('switch', { name: 'Mute ringtone' }).check()
  await expect.poll(() => tones(b)).toBe(0)
  await b.getByTestId('calls-reject').click()

  await b.reload()
  await b.getByTestId('calls-my-sid').filter({ hasText: bob }).waitFor()
  await expect(b.getByTestId('calls-ringtone')).not.toBeChecked()
  await ring(a, b, bob)
  await expect(b.getByTestId('calls-ring-mute')).toBeChecked()
  await expect.poll(() => b.title(), { intervals: [100] }).toBe(`📞 ${alice} is calling…`)
  expect(await tones(b)).toBe(0)
  // Turned back on from the Calls panel's setting, it rings at once.
  await b.getByTestId('calls-ringtone').check()
  await expect.poll(() => tones(b)).toBe(2)
  await b.getByTestId('calls-reject').click()
  await expect.poll(() => tones(b)).toBe(0)
})

test('the caller sees "Calling bob…" with Cancel; cancelling reads "Cancelled" there and "Missed call" at bob’s', async ({ context, baseURL }) => {
  const { a, b, alice, bob } = await twoTabs(context, baseURL!, 'cancel')
  await ring(a, b, bob)
  await expect(a.getByTestId('calls-session-state')).toHaveText(`Calling ${bob}…`)
  await expect(peerRow(a, bob).getByTestId('calls-peer-state')).toHaveText('Ringing')
  await expect(peerRow(b, alice).getByTestId('calls-peer-state')).toHaveText('Ringing')
  await expect(a.getByTestId('calls-hangup')).toHaveText('Cancel')
  await a.getByTestId('calls-hangup').click()
  await expect(a.getByTestId('calls-ended')).toContainText('Cancelled')
  await expect(b.getByTestId('calls-incoming')).toHaveCount(0)
  await expect(b.getByTestId('calls-ended')).toHaveAttribute('data-reason', 'stopped')
  await expect(b.getByTestId('calls-ended')).toContainText('Missed call')
})

test('the people list names states in words and keeps the protocol values in data-state', async ({ context, baseURL }) => {
  const { a, b, alice, bob } = await twoTabs(context, baseURL!, 'names')
  const carol = await openAppAs(await context.newPage(), baseURL!, 'carol-names')
  await expect(peerRow(carol, alice)).toHaveAttribute('data-state', 'WAIT')
  await expect(peerRow(carol, alice).getByTestId('calls-peer-state')).toHaveText('Available')
  await inCall(a, b, bob)
  await expect(peerRow(carol, alice)).toHaveAttribute('data-state', 'CALLING')
  await expect(peerRow(carol, alice).getByTestId('calls-peer-state')).toHaveText('In a call')
  await expect(peerRow(a, bob).getByTestId('calls-peer-state')).toHaveText('In a call with you')
  await expect(a.getByTestId('calls-session-state')).toHaveText(`In a call with ${bob}`)
})

test('in a call, other panels show a call bar with a ticking duration; it opens the call, and Hang up there ends it', async ({ context, baseURL }) => {
  const { a, b, alice, bob } = await twoTabs(context, baseURL!, 'bar')
  await inCall(a, b, bob)
  await expect(a.getByTestId('callbar')).toHaveCount(0) // not on the Calls panel itself

  await a.getByTestId('tab-chat').click()
  const bar = a.getByRole('region', { name: 'Current call' })
  await expect(bar).toBeVisible()
  await expect(bar.getByTestId('callbar-status')).toHaveText(`In a call with ${bob}`)
  const duration = a.getByTestId('callbar-duration')
  await expect(duration).toHaveText(/^\d\d:\d\d$/)
  const first = await duration.textContent()
  await expect(duration).not.toHaveText(first!) // it ticks

  await a.getByTestId('callbar-open').click()
  await expect(a.getByTestId('tab-calls')).toHaveAttribute('aria-selected', 'true')
  await expect(a.getByTestId('callbar')).toHaveCount(0)

  await a.getByTestId('tab-topics').click()
  await a.getByTestId('callbar-hangup').click()
  await expect(a.getByTestId('callbar-ended')).toHaveAttribute('data-reason', 'hangup')
  await expect(a.getByTestId('callbar-ended')).toContainText('You hung up')
  await expect(b.getByTestId('calls-ended')).toHaveAttribute('data-reason', 'stopped')
  await expect(b.getByTestId('calls-ended')).toContainText(`${alice} hung up`)
  await a.getByTestId('callbar-dismiss').click()
  await expect(a.getByTestId('callbar')).toHaveCount(0)
})

test('a camera turned off shows the person’s initials on both sides instead of a black picture', async ({ context, baseURL }) => {
  const { a, b, bob } = await twoTabs(context, baseURL!, 'camera')
  await inCall(a, b, bob)
  await expectRemoteFramesAdvancing(b)
  await expect(a.getByTestId('calls-local-avatar')).toHaveCount(0)
  await expect(b.getByTestId('calls-remote-avatar')).toHaveCount(0)

  await a.getByTestId('calls-mute-video').click()
  await expect(a.getByTestId('calls-local-avatar')).toHaveText('AC')
  await expect(b.getByTestId('calls-remote-avatar')).toHaveText('AC')
  await a.getByTestId('calls-mute-video').click()
  await expect(a.getByTestId('calls-local-avatar')).toHaveCount(0)
  await expect(b.getByTestId('calls-remote-avatar')).toHaveCount(0)
})

test('connection details are collapsed by default and open from the keyboard', async ({ context, baseURL }) => {
  const { a, b, bob } = await twoTabs(context, baseURL!, 'details')
  await inCall(a, b, bob)
  const details = a.getByTestId('calls-ice')
  await expect(details).not.toHaveAttribute('open')
  await expect(a.getByTestId('calls-local-candidates')).toBeHidden()
  await details.getByText('Connection details').focus()
  await a.keyboard.press('Enter')
  await expect(details).toHaveAttribute('open')
  await expect(a.getByTestId('ice-local').first()).toBeVisible()
})

test('focus follows the call: Call lands on Cancel, Answer on Hang up, and Hang up back on the person’s Call button', async ({ context, baseURL }) => {
  const { a, b, alice, bob } = await twoTabs(context, baseURL!, 'focus')
  await ring(a, b, bob)
  await expect(a.getByTestId('calls-hangup')).toBeFocused()
  await expect(a.getByTestId('calls-hangup')).toHaveText('Cancel')
  await b.getByTestId('calls-accept').click()
  await expect(b.getByTestId('calls-hangup')).toBeFocused()
  await expect(b.getByTestId('calls-hangup')).toHaveText('Hang up')
  await b.keyboard.press('Enter') // hangs up from the keyboard
  await expect(b.getByTestId('calls-ended')).toContainText('You hung up')
  await expect(peerRow(b, alice).getByTestId('calls-call')).toBeFocused()
  await expect(peerRow(a, bob).getByTestId('calls-call')).toBeFocused() // their Hang up went away too
})

test('a blocked camera says so in words, with what to do, and does not blame the connection', async ({ context, baseURL }) => {
  const a = await context.newPage()
  await a.addInitScript(() => {
    navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('Permission denied', 'NotAllowedError'))
  })
  await openAppAs(a, baseURL!, 'alice-blocked')
  await openAppAs(await context.newPage(), baseURL!, 'bob-blocked')
  await peerRow(a, 'bob-blocked').getByTestId('calls-call').click()
  const error = a.getByTestId('calls-error')
  await expect(error).toContainText('Camera or microphone blocked. Allow them in the address bar')
  await expect(error.getByTestId('error-detail')).toHaveText('NotAllowedError: Permission denied')
  await expect(a.getByTestId('calls-ended')).toHaveAttribute('data-reason', 'failed')
  await expect(a.getByTestId('calls-ended')).toContainText('Call not started')
  await expect(a.getByTestId('calls-panel')).not.toContainText(/connection (failed|lost)|call failed/i)
  await expect(peerRow(a, 'bob-blocked').getByTestId('calls-call')).toBeFocused()
})

test('axe finds no WCAG A/AA violation in light and dark mode: ringing on Calls and Chat, in a call, and on a 390 px phone', async ({ context, baseURL }) => {
  test.setTimeout(240_000) // twelve axe passes (six states, two themes) over a page with live video: ~10 s each on a busy box
  const { a, b, bob } = await twoTabs(context, baseURL!, 'axe')
  // A call rings for 45 s (DEFAULT_RING_TIMEOUT_MS): one ringing state checked per ring, so the ring outlasts its axe passes.
  await ring(a, b, bob)
  await expectAxeClean(b, ['[data-testid=calls-panel]', '[data-testid=calls-incoming]'])
  await a.getByTestId('calls-hangup').click() // Cancel
  await expect(b.getByTestId('calls-incoming')).toHaveCount(0)
  await ring(a, b, bob)
  await expectAxeClean(a, ['[data-testid=calls-panel]'])
  await a.getByTestId('calls-hangup').click()
  await expect(b.getByTestId('calls-incoming')).toHaveCount(0)
  await b.getByTestId('tab-chat').click()
  await ring(a, b, bob)
  await expectAxeClean(b, ['[data-testid=calls-incoming]'])

  await b.getByTestId('calls-accept').click()
  for (const page of [a, b]) await expect(page.getByTestId('calls-session-state')).toHaveAttribute('data-state', 'ACTIVE')
  await expectAxeClean(b, ['[data-testid=calls-panel]'])
  await a.getByTestId('tab-chat').click()
  await expect(a.getByTestId('callbar-duration')).toBeVisible()
  await expectAxeClean(a, ['[data-testid=callbar]'])

  // A phone: the call (video tiles, controls, people) fits without sideways scrolling.
  await b.setViewportSize({ width: 390, height: 844 })
  await a.setViewportSize({ width: 360, height: 740 })
  await expectAxeClean(b, ['[data-testid=calls-panel]'])
  const overflow = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)
  expect(await overflow(b)).toBe(0)
  expect(await overflow(a)).toBe(0)
  const panel = await b.getByTestId('calls-panel').boundingBox()
  for (const tile of ['calls-remote-video', 'calls-local-video']) {
    const box = await b.getByTestId(tile).boundingBox()
    expect(box!.x + box!.width).toBeLessThanOrEqual(panel!.x + panel!.width)
  }
})
