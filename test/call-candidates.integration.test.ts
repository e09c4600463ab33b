import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { CallServerMessage } from '../src/protocol/calls'
import type { Relay } from '../src/relay/server'
import { CallClient, type CallClientOptions } from '../src/sdk'
import { FakePeerConnection, useFakeWebRTC } from './fake-webrtc'
import { client, relayForTest, until } from './helpers'

/**
 * The caller's trickled candidates reach the callee's peer connection whenever they come:
 * before it exists (nothing prepared while ringing) they wait for it, and they are added
 * only once the callee answers. test/fake-webrtc.ts stands in for the browser's media.
 */

useFakeWebRTC()

let relay: Relay
const cleanup: (() => void)[] = []
beforeAll(async () => { relay = await relayForTest() })
afterEach(() => { for (const fn of cleanup.splice(0).reverse()) fn() })
afterAll(async () => { await relay.close() })

async function party(userId: string, options: CallClientOptions = {}) {
  const rtm = await client(relay, userId)
  const calls = new CallClient(rtm, options)
  const messages: CallServerMessage[] = []
  calls.on('message', (msg) => messages.push(msg))
  cleanup.push(() => { calls.destroy(); rtm.release() })
  await calls.start()
  return { calls, messages }
}

const pcOf = (calls: CallClient) => (calls as unknown as { current: { link: { pc: FakePeerConnection } | null } | null }).current?.link?.pc

describe('trickled candidates on a call', () => {
  it('a candidate that arrives before the callee has a peer connection is kept and added once it answers', async () => {
    const alice = await party('alice')
    const bob = await party('bob', { prepareWhileRinging: false })
    const ringing = new Promise<void>((resolve) => bob.calls.on('incoming', () => resolve()))
    await alice.calls.call('bob')
    await ringing
    pcOf(alice.calls)!.onicecandidate?.({ candidate: { toJSON: () => ({ candidate: 'candidate:1 1 udp 1 10.99.0.1 5000 typ host', sdpMid: '0', sdpMLineIndex: 0 }) } } as never)
    await until(() => bob.messages.some((msg) => msg.cmd === 'icecandidate'))
    expect(pcOf(bob.calls)).toBeUndefined() // nothing prepared while it rings
    await bob.calls.accept()
    expect(pcOf(bob.calls)!.addedCandidates.map((c) => c.candidate)).toEqual(['candidate:1 1 udp 1 10.99.0.1 5000 typ host'])
  })
})
