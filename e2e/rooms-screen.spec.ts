import { expect, test } from './fixtures'
import { createRoom, expectPlayingRemotes, joinByLink, memberRow, newPerson, openRoomsAs } from './rooms-page'

/**
 * "Share screen" (issue 13): getDisplayMedia (headless Chromium's fake screen) shared as a
 * second session of the host, category screenshare, which the host lets publish; it plays
 * beside the host's camera for a viewer, and stopping ends that session. Inside scripts/netns-run.
 */
test('the host shares the screen as a second session: a viewer plays it beside the camera, and Stop sharing ends it', async ({ browser, baseURL }) => {
  const host = await newPerson(browser)
  const guest = await newPerson(browser)
  try {
    await openRoomsAs(host, baseURL!, 'host-screen')
    const link = await createRoom(host, 'a2m')
    await joinByLink(guest, link, 'guest-screen')
    await expectPlayingRemotes(guest, ['host-screen'])

    await host.getByTestId('rooms-share-screen').click()
    await expect(host.getByTestId('rooms-share-screen')).toHaveText('Stop sharing')
    await expect(host.locator('[data-testid=rooms-tile][data-own=screen]')).toBeVisible()
    const screen = host.locator('[data-testid=rooms-member][data-user="host-screen"]').filter({ hasText: 'your screen' })
    await expect(screen).toHaveAttribute('data-role', 'publisher')
    await expect(screen.getByTestId('rooms-kick')).toHaveCount(0) // our own screen stops with its button
    await expectPlayingRemotes(guest, ['host-screen', 'host-screen:screen'])

    await host.getByTestId('rooms-share-screen').click()
    await expect(host.getByTestId('rooms-share-screen')).toHaveText('Share screen')
    await expect(guest.getByTestId('rooms-member')).toHaveCount(2)
    await expectPlayingRemotes(guest, ['host-screen'])
    await expect(memberRow(host, 'host-screen')).toHaveCount(1)
  } finally {
    for (const page of [host, guest]) await page.context().close()
  }
})
