import { expect } from 'vitest'
import type { Relay } from '../src/relay/server'
import type { LinkStateEvent, RTM } from '../src/sdk'
import { Capture, processesOf } from './helpers'

/**
 * Drops the relay's socket(s) of `userId`, as a network failure would; the client reconnects
 * by itself. In the spread run, on whichever process behind the balancer holds them.
 */
export function dropSocketOf(relay: Relay, userId: string): number {
  let dropped = 0
  for (const server of processesOf(relay)) {
    for (const [id, socket] of server.io.sockets.sockets) {
      if (server.host.userOf(id)?.userId !== userId) continue
      socket.disconnect(true)
      dropped++
    }
  }
  return dropped
}

/** Resolves once `client` is CONNECTED again after a reconnect (its restorers have run). */
export function reconnected(client: RTM): Promise<LinkStateEvent> {
  const links = new Capture(client, 'linkState')
  return links.next((event) => event.currentState === 'CONNECTED' && event.operation === 'RECONNECTED')
}

/** Asserts that `promise` rejects with seed 000's `errorCode` (and, when given, a reason matching `reason`). */
export async function expectCode(promise: Promise<unknown>, errorCode: number, reason?: RegExp): Promise<void> {
  const error = await promise.then(
    (value) => { throw new Error(`expected error ${errorCode}, got ${JSON.stringify(value)}`) },
    (error: unknown) => error,
  )
  expect(error).toMatchObject({ error: true, errorCode })
  if (reason) expect((error as { reason: string }).reason).toMatch(reason)
}
