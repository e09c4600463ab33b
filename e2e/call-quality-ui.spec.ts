import { chromium, type Browser, type Page } from '@playwright/test'
import { expect, test } from './fixtures'
import { expectAxeClean } from './axe'
import { CHROMIUM_ARGS } from './chromium-args'
import { connectedVideoCall, openAppAs } from './calls-page'
import { createRoom, expectPlaying, newPerson, openRoomsAs, remoteTiles } from './rooms-page'

/**
 * The call-quality UI (issue 14): the quality badge, the stats drawer with its live charts and
 * figures, Diagnose with "Copy as JSON", the same on a room's tiles, and "Click to play" when
 * the browser's autoplay policy holds the remote media back. Runs inside scripts/netns-run,
 * like e2e/calls.spec.ts.
 */

const RATINGS = ['EXCELLENT', 'GOOD', 'POOR']

/** A figure of the drawer's list (video track unless said), as the raw number it carries. */
const figure = (page: Page, id: string, media: 'video' | 'audio' = 'video') =>
  page.locator(`[data-testid=stats-${id}][data-media=${media}]`).first()
const figureValue = async (page: Page, id: string, media: 'video' | 'audio' = 'video') => Number(await figure(page, id, media).getAttribute('data-value'))

test('in a call, the stats drawer shows live figures and charts, the badge a rating, and Diagnose a report it copies as JSON', async ({ context, baseURL }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write'])
  const [alice, bob] = ['alice-quality', 'bob-quality']
  const a = await openAppAs(await context.newPage(), baseURL!, alice)
  const b = await openAppAs(await context.newPage(), baseURL!, bob)
  await connectedVideoCall(a, b, alice, bob)

  // The badge says the rating in a word and the score (samples come every 2 s).
  const badge = b.getByTestId('calls-panel').getByTestId('quality-badge')
  await expect(badge).toBeVisible({ timeout: 15_000 })
  expect(RATINGS).toContain(await badge.getAttribute('data-rating'))
  await expect(badge).toHaveText(/(Excellent|Good|Poor) \d+/)
  await expect(b.getByTestId('calls-media-badge')).toHaveText('Media: Connected')

  const drawer = b.getByTestId('stats-drawer')
  await drawer.locator('summary').click()
  await expect(figure(b, 'frames-decoded')).toBeVisible()
  const decoded = await figureValue(b, 'frames-decoded')
  await expect.poll(() => figureValue(b, 'frames-decoded'), { timeout: 10_000 }).toBeGreaterThan(decoded)
  await expect.poll(() => figureValue(b, 'bitrate')).toBeGreaterThan(0)
  await expect(figure(b, 'lost')).toContainText('of')
  await expect(figure(b, 'codec')).toContainText('video/')
  // Charts for the video and the audio track: uPlot loaded on opening, each chart a canvas.
  await expect(drawer.locator('[data-testid=stats-track][data-media=video] [data-testid=stats-chart] canvas')).toHaveCount(5)
  await expect(drawer.locator('[data-testid=stats-track][data-media=audio] [data-testid=stats-chart] canvas')).toHaveCount(4)
  await expect(drawer.locator('canvas').first()).toBeVisible()

  await b.getByTestId('diagnose').click()
  const report = b.getByTestId('diagnosis-report')
  await expect(report).toBeVisible({ timeout: 10_000 })
  await expect(b.getByTestId('diagnosis-error')).toHaveText('ok')
  await expect(report.locator('[data-testid=diagnosis-check][data-side=remote][data-check=video_transfer]')).toHaveAttribute('data-value', 'ok')
  await expect(report.locator('[data-testid=diagnosis-check][data-side=field][data-check=video_transfer]')).toHaveAttribute('data-value', 'ok')
  await b.getByTestId('diagnosis-copy').click()
  await expect(b.getByTestId('diagnosis-copied')).toHaveText('Copied')
  const copied = JSON.parse(await b.evaluate(() => navigator.clipboard.readText())) as { diag_error: string; device_id: string; result: unknown[] }
  expect(copied.diag_error).toBe('ok')
  expect(copied.device_id).toBe(bob)
  expect(copied.result.length).toBeGreaterThan(0)

  await expectAxeClean(b, ['[data-testid=calls-panel]'])
  // The open drawer and report fit a phone and a laptop: nothing scrolls sideways.
  for (const width of [360, 1280]) {
    await b.setViewportSize({ width, height: 900 })
    await expect.poll(() => b.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBe(0)
  }
})

/**
 * Joins the room the page's link names from the page itself, and reports on the console what
 * the test waits for. Not from the test: every Playwright query into a page (evaluate, even a
 * locator wait, a trace's DOM snapshot) runs as a user gesture, and one gesture lifts the autoplay
 * policy for good.
 */
function joinWithoutGesture(): void {
  const said = new Set<string>()
  const say = (text: string) => { if (!said.has(text)) { said.add(text); console.log(`quality-test:${text}`) } }
  setInterval(() => {
    const join = document.querySelector<HTMLButtonElement>('[data-testid=rooms-join]')
    const ready = document.querySelector('[data-testid=rooms-state][data-state=unjoined]') && document.querySelector<HTMLInputElement>('[data-testid=rooms-join-id]')?.value
    if (join && ready && !join.disabled && !said.has('joining')) { say('joining'); join.click() }
    const tile = document.querySelector('[data-testid=rooms-tile][data-own=""]')
    const video = tile?.querySelector('video')
    if (tile?.querySelector('[data-testid=autoplay-play]')) say(`blocked paused=${video?.paused} gesture=${navigator.userActivation.hasBeenActive}`)
  }, 50)
}

test('in a webinar, the browser holds the host\'s media back: the viewer gets "Click to play", a click plays it, and the tile shows its quality, stats and diagnosis', async ({ browser, baseURL }) => {
  // A Chromium that plays sound only after the page was clicked (as browsers do on a first visit). Chromium lets a page
  // that captures the camera play anyway, so a call (both sides capture) is never held back: a viewer, who only watches, is.
  const args = [...CHROMIUM_ARGS, '--autoplay-policy=document-user-activation-required']
  const host = await openRoomsAs(await newPerson(browser), baseURL!, 'host-autoplay')
  let strict: Browser | null = null
  try {
    const link = await createRoom(host, 'p2m')
    strict = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args })
    const context = await strict.newContext()
    // The run's trace takes DOM snapshots of every context a test opens, this one too, reading the page for them as a
    // user gesture before anything was clicked: trace this one with screenshots only.
    await context.tracing.stop()
    await context.tracing.start({ screenshots: true, snapshots: false })
    const viewer = await context.newPage()
    await viewer.addInitScript(joinWithoutGesture)
    const blocked = viewer.waitForEvent('console', { predicate: (m) => m.text().startsWith('quality-test:blocked'), timeout: 30_000 })
    const url = new URL(link)
    url.searchParams.set('user', 'viewer-autoplay')
    await viewer.goto(url.toString())
    // The host's media arrived and the browser refused to play it: the prompt shows, the video waits.
    expect((await blocked).text()).toBe('quality-test:blocked paused=true gesture=false')

    const tile = remoteTiles(viewer).first()
    const play = tile.getByTestId('autoplay-play')
    await expect(play).toHaveText(/Click to play/)
    await expect(tile).toHaveAttribute('data-autoplay', 'blocked')
    await play.click()
    // The prompt goes only on the SDK's autoplay code 0 for the tile's tracks.
    await expect(play).toHaveCount(0)
    await expect(tile).toHaveAttribute('data-autoplay', '')
    await expectPlaying(viewer, ['host-autoplay'])
    expect(await tile.locator('video').evaluate((v: HTMLVideoElement) => [v.paused, v.muted])).toEqual([false, false])

    // The host's tile carries its quality and its own stats drawer; Diagnose asks the host for its send side (room NOTIFY).
    const badge = tile.getByTestId('quality-badge')
    await expect(badge).toBeVisible({ timeout: 20_000 })
    expect(RATINGS).toContain(await badge.getAttribute('data-rating'))
    const drawer = viewer.locator('[data-testid=rooms-grid] li').filter({ has: tile }).getByTestId('stats-drawer')
    await drawer.locator('summary').click()
    await expect.poll(() => figureValue(viewer, 'frames-decoded'), { timeout: 10_000 }).toBeGreaterThan(0)
    await expect(drawer.locator('canvas').first()).toBeVisible()
    await drawer.getByTestId('diagnose').click()
    await expect(drawer.getByTestId('diagnosis-error')).toHaveText('ok', { timeout: 10_000 })
    await expect(drawer.locator('[data-testid=diagnosis-check][data-side=field][data-check=video_transfer]')).toHaveAttribute('data-value', 'ok')
    await expectAxeClean(viewer, ['[data-testid=rooms-room]'])
  } finally {
    await strict?.close()
    await host.context().close()
  }
})
