import { expect, test } from '@playwright/test'
import { expectRemoteFramesAdvancing, peerRow, ring } from './calls-page'
import { messages, send } from './chat-page'
import { Coturn } from './turn/coturn'
import { TURN_WORLD_ADDRESS as ADDRESS, TurnWorld } from './turn/turn-world'

/**
 * Issue 12: two browsers that cannot reach each other hold a video call through a real
 * coturn (e2e/turn/turn-world.ts: each Chromium in a network namespace of its own; the relay,
 * HTTPS with TOKEN_SECRET set, and coturn in the test's). Each user signs in with a login
 * token, the page fetches its TURN credentials from the relay (`GET /ice-servers`), and ICE
 * can only succeed through coturn: the call connects, remote frames advance, and the Calls
 * panel shows a selected candidate pair with a relay end. In mesh mode the same holds for
 * the PeerJS data channel from a follower to the coordinator.
 */

const APP = 'turn-e2e'

test.describe.configure({ mode: 'serial' })

let world: TurnWorld

test.beforeAll(async () => {
  test.skip(!Coturn.available(), 'coturn is not installed (apt-get install coturn)')
  test.setTimeout(60_000)
  world = await TurnWorld.start({ namespaces: [['skturna', 41], ['skturnb', 42]] })
})

test.afterAll(async () => {
  await world?.stop()
})

test('two browsers with no route between them call each other through coturn', async () => {
  const a = await world.openCalls(world.browsers[0]!, 'alice', APP)
  const b = await world.openCalls(world.browsers[1]!, 'bob', APP)
  await expect(peerRow(a, 'bob')).toHaveAttribute('data-state', 'WAIT')
  await ring(a, b, 'bob')
  await b.getByTestId('calls-accept').click()
  for (const page of [a, b]) {
    await expect(page.getByTestId('calls-session-state')).toHaveAttribute('data-state', 'ACTIVE')
    await expectRemoteFramesAdvancing(page)
    await expect(page.getByTestId('calls-connection-state')).toHaveText('connected')
  }
  // Media flows through TURN: one end of each side's selected pair is an address coturn relays
  // on (with host candidates only this call could not connect). Chromium stops gathering once a
  // pair works, so the side that answered may have no relay candidate of its own: A's serves both.
  for (const page of [a, b]) {
    const pair = page.getByTestId('calls-selected-pair')
    await expect(pair).toHaveAttribute('data-local-type', /.+/)
    expect([await pair.getAttribute('data-local-type'), await pair.getAttribute('data-remote-type')]).toContain('relay')
    await expect(pair).toContainText(new RegExp(`relay (udp )?${ADDRESS.replaceAll('.', '\\.')}:\\d+`))
  }
  // Their host candidates were exchanged and would have won on priority, had any packet got through.
  await expect(a.locator('[data-testid=ice-remote][data-type=host]').first()).toBeAttached()
  await a.getByTestId('calls-hangup').click()
  await expect(b.getByTestId('calls-ended')).toBeAttached()
})

test('mesh mode: the follower browser reaches the coordinator browser over a data channel through coturn', async () => {
  const appId = `${APP}-mesh`
  const a = await world.signIn(world.browsers[0]!, 'carol', appId, 'mesh')
  await expect(a.getByTestId('header-coordinator')).toContainText('this browser')
  // B's only way to the coordinating browser is a PeerJS data channel, and its only path is coturn.
  const b = await world.signIn(world.browsers[1]!, 'dave', appId, 'mesh')
  await expect(b.getByTestId('header-coordinator')).toContainText(`peer ${appId}-coordinator`)
  await send(b, 'hello through TURN')
  await expect(messages(a).filter({ hasText: 'hello through TURN' })).toBeVisible()
})
