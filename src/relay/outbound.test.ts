import type { Socket } from 'socket.io'
import { describe, expect, it } from 'vitest'
import { HARD_OUTBOUND_BYTES, MAX_OUTBOUND_BYTES, OUTBOUND_GRACE_MS, overOutboundCap } from './outbound'

/** The parts of a socket.io socket the cap reads: engine.io's write buffer and the WebSocket's unsent bytes. */
function socketWith(queued: { bytes: number }): Socket {
  return {
    data: {},
    conn: { writeBuffer: [], transport: { socket: { get bufferedAmount() { return queued.bytes } } } },
  } as unknown as Socket
}

describe('the outbound cap', () => {
  it('lets a client be over the cap for the grace period (a burst it is still reading), then closes it', () => {
    const queued = { bytes: MAX_OUTBOUND_BYTES + 1 }
    const socket = socketWith(queued)
    expect(overOutboundCap(socket, 1_000)).toBe(false)
    expect(overOutboundCap(socket, 1_000 + OUTBOUND_GRACE_MS - 1)).toBe(false)
    expect(overOutboundCap(socket, 1_000 + OUTBOUND_GRACE_MS)).toBe(true)
  })

  it('forgets a client that drained below the cap', () => {
    const queued = { bytes: MAX_OUTBOUND_BYTES + 1 }
    const socket = socketWith(queued)
    expect(overOutboundCap(socket, 0)).toBe(false)
    queued.bytes = 0
    expect(overOutboundCap(socket, OUTBOUND_GRACE_MS)).toBe(false)
    queued.bytes = MAX_OUTBOUND_BYTES + 1
    expect(overOutboundCap(socket, OUTBOUND_GRACE_MS + 1)).toBe(false)
  })

  it('closes at once past the hard cap', () => {
    expect(overOutboundCap(socketWith({ bytes: HARD_OUTBOUND_BYTES + 1 }), 0)).toBe(true)
  })
})
