import { afterEach, describe, expect, it } from 'vitest'
import type { Relay } from '../../src/relay/server'
import type { RTM } from '../../src/sdk'
import { SPREAD_RELAYS, client, processesOf, relayForTest, spread } from '../helpers'

/** Guards the spread run itself: its clients really are spread, or every other test there proves nothing new. */
describe.runIf(spread)('the spread run', () => {
  let relay: Relay | undefined
  const clients: RTM[] = []
  afterEach(async () => {
    for (const rtm of clients.splice(0)) rtm.release()
    await relay?.close()
  })

  it('puts each new client on the next relay process, all served by one owner of the app', async () => {
    relay = await relayForTest()
    expect(processesOf(relay)).toHaveLength(SPREAD_RELAYS)
    for (const userId of ['alice', 'bob', 'carol']) clients.push(await client(relay, userId))
    const gateways = clients.map((rtm) => rtm.servedBy?.gateway)
    expect(new Set(gateways).size).toBe(SPREAD_RELAYS)
    expect(new Set(clients.map((rtm) => rtm.servedBy?.owner)).size).toBe(1)
  })
})
