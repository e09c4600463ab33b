import { describe, expect, it } from 'vitest'
import { aliceToBobOnStage, Capture, relayPerTest } from './helpers'
import { dropSocketOf, reconnected } from './relay-control'

describe('an ordered topic under reconnects', () => {
  // A burst of 900 publishes: this is about order across drops, not the rate limits (tested in limits tests).
  const unlimited = { perSecond: 100_000, burst: 100_000 }
  const world = relayPerTest({ requestRate: unlimited, engine: { publishRate: unlimited } })
  const join = world.join

  it('a subscriber gets one publisher\'s messages in send order, never twice, while both sockets drop', async () => {
    const alice = await join('alice')
    const bob = await join('bob')
    const { atAlice } = await aliceToBobOnStage(alice, bob, 'ticks', { qos: 'ORDERED' })
    const messages = new Capture(bob, 'message')

    const BATCH = 300
    const sent: Promise<unknown>[] = []
    const burst = (from: number) => {
      for (let i = from; i < from + BATCH; i++) sent.push(atAlice.publishTopicMessage('ticks', String(i)))
    }
    const bobBack = reconnected(bob)
    const aliceBack = reconnected(alice)
    // Drop each socket mid-stream: bob's while messages to him are in flight, alice's while
    // some of her publishes are applied but unanswered (the SDK resends those after reconnecting).
    burst(0)
    await messages.next((e) => Number(e.message) >= BATCH / 4)
    expect(dropSocketOf(world.relay, 'bob')).toBe(1)
    burst(BATCH)
    await sent[BATCH + BATCH / 4]
    expect(dropSocketOf(world.relay, 'alice')).toBe(1)
    burst(2 * BATCH)
    await Promise.all([bobBack, aliceBack, ...sent])
    await atAlice.publishTopicMessage('ticks', 'end')
    await messages.next((e) => e.message === 'end')

    const received = messages.seen.filter((e) => e.message !== 'end').map((e) => Number(e.message))
    if (process.env.SHOW_COUNTS) console.log(`ordered topic: ${received.length} of ${3 * BATCH} delivered across the drops`)
    for (let i = 1; i < received.length; i++) expect(received[i]).toBeGreaterThan(received[i - 1])
    // What bob missed while offline is a gap at the drop, not a shuffle: both ends of the stream arrived.
    expect(received[0]).toBe(0)
    expect(received.at(-1)).toBe(3 * BATCH - 1)
  })
})
