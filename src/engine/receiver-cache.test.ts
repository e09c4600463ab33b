import { describe, expect, it } from 'vitest'
import type { MemberOptions } from './model'
import { TestWorld } from './test-world'

/** The receivers and visible count as a full walk over the members finds them (what the caches replace). */
function walked(world: TestWorld, flag: keyof MemberOptions) {
  const channel = world.coordinator.app('app')!.presence.channels.get('1:room')
  const conns = [...(channel?.members.values() ?? [])]
    .filter((member) => member.connId && member.memberships.get('1:room')?.[flag])
    .map((member) => member.connId!)
  return conns.sort()
}

function cached(world: TestWorld, flag: keyof MemberOptions) {
  const presence = world.coordinator.app('app')!.presence
  const channel = presence.channels.get('1:room')
  return channel ? [...presence.connsWith(channel, flag)].sort() : []
}

function visible(world: TestWorld) {
  const channel = world.coordinator.app('app')!.presence.channels.get('1:room')
  return {
    kept: channel?.visibleCount ?? 0,
    walked: [...(channel?.members.values() ?? [])].filter((m) => !m.memberships.get('1:room')!.beQuiet).length,
  }
}

/** Presence events about others (the subscriber's own SNAPSHOT left out). */
function announced(world: TestWorld, conn: string) {
  return world.events(conn, 'presence').filter((event) => event.snapshot === null)
}

/** Who receives a message published now, as delivered (not as the cache says). */
function deliveredTo(world: TestWorld, from: string, conns: string[]) {
  world.clear()
  world.ok(from, { op: 'publish', args: { channelType: 1, channelName: 'room', message: 'hi' } })
  return conns.filter((conn) => world.events(conn, 'message').length > 0).sort()
}

describe('cached receiver lists and visible count', () => {
  it('stay right across quiet toggles, option changes, unsubscribe, connection lost and resume', () => {
    const world = new TestWorld()
    const conns = ['a1', 'b1', 'c1', 'd1']
    for (const [conn, user] of [['a1', 'a'], ['b1', 'b'], ['c1', 'c'], ['d1', 'd']]) world.login(conn, user)
    for (const conn of conns) world.ok(conn, { op: 'subscribe', args: { channelName: 'room' } })
    const check = () => {
      for (const flag of ['withMessage', 'withPresence'] as const) expect(cached(world, flag)).toEqual(walked(world, flag))
      const { kept, walked: counted } = visible(world)
      expect(kept).toBe(counted)
    }
    check()
    // Read the caches first so each step below must invalidate them, not just build them fresh.
    expect(deliveredTo(world, 'a1', conns)).toEqual(['a1', 'b1', 'c1', 'd1'])

    // Quiet on and off: receivers unchanged, visible count follows; others see a leave and a join.
    world.ok('b1', { op: 'subscribe', args: { channelName: 'room', beQuiet: true } })
    check()
    expect(visible(world).kept).toBe(3)
    world.clear()
    world.ok('b1', { op: 'subscribe', args: { channelName: 'room', beQuiet: false } })
    check()
    expect(visible(world).kept).toBe(4)
    expect(announced(world, 'a1').map((e) => e.publisher)).toEqual(['b'])
    expect(announced(world, 'b1')).toEqual([])

    // Options changed on an existing subscription: c stops taking messages, d stops taking presence.
    world.ok('c1', { op: 'subscribe', args: { channelName: 'room', withMessage: false } })
    world.ok('d1', { op: 'subscribe', args: { channelName: 'room', withPresence: false } })
    check()
    expect(deliveredTo(world, 'a1', conns)).toEqual(['a1', 'b1', 'd1'])
    world.clear()
    world.ok('b1', { op: 'subscribe', args: { channelName: 'room', beQuiet: true } })
    expect(conns.filter((conn) => announced(world, conn).length > 0).sort()).toEqual(['a1', 'c1'])

    // Unsubscribe: gone from every list and from the count.
    world.ok('a1', { op: 'unsubscribe', args: { channelName: 'room' } })
    check()
    expect(visible(world).kept).toBe(2)
    expect(deliveredTo(world, 'b1', conns)).toEqual(['b1', 'd1'])

    // Connection lost: still a (visible) member, but no longer a receiver.
    world.drop('d1')
    check()
    expect(visible(world).kept).toBe(2)
    expect(deliveredTo(world, 'b1', conns)).toEqual(['b1'])

    // Resumed on a new connection: the new connection id receives, the old one never again.
    world.resume('d2', 'd')
    check()
    expect(deliveredTo(world, 'b1', [...conns, 'd2'])).toEqual(['b1', 'd2'])

    // Resumed again while still connected: the first connection is closed and replaced.
    world.resume('d3', 'd')
    check()
    expect(deliveredTo(world, 'b1', [...conns, 'd2', 'd3'])).toEqual(['b1', 'd3'])

    // A login without the resume key replaces d: d's membership ends.
    world.login('d4', 'd')
    check()
    expect(deliveredTo(world, 'b1', [...conns, 'd2', 'd3', 'd4'])).toEqual(['b1'])
    expect(visible(world).kept).toBe(1)

    // Timed out while lost: removed from the channel.
    world.drop('c1')
    world.advance(301_000)
    check()
    expect(visible(world)).toEqual({ kept: 0, walked: 0 })
    expect(deliveredTo(world, 'b1', [...conns, 'd4'])).toEqual(['b1'])
  })
})
