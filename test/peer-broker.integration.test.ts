import { io } from 'socket.io-client'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import type { Relay } from '../src/relay/server'
import { relayForTest } from './helpers'

/** The broker's first message to a peer: OPEN (id granted) or ID-TAKEN (the election's "no"). */
function brokerHello(relay: Relay, id: string, token: string): Promise<{ type: string; socket: WebSocket }> {
  const socket = new WebSocket(`ws://127.0.0.1:${relay.port}/peerjs/peerjs?key=peerjs&id=${id}&token=${token}`)
  return new Promise((resolve, reject) => {
    socket.once('message', (data) => resolve({ type: (JSON.parse(String(data)) as { type: string }).type, socket }))
    socket.once('error', reject)
  })
}

describe('the PeerJS broker mounted on the relay', () => {
  let relay: Relay
  const sockets: WebSocket[] = []
  beforeEach(async () => { relay = await relayForTest() })
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.terminate()
    await relay.close()
  })

  it('leaves socket.io on a real WebSocket (no silent fallback to long-polling)', async () => {
    // Polling first, then the upgrade: the path the broker's WebSocket server used to break.
    const socket = io(relay.url, { transports: ['polling', 'websocket'], reconnection: false, forceNew: true })
    try {
      await new Promise<void>((resolve, reject) => {
        socket.io.engine?.on('upgrade', () => resolve())
        socket.on('connect', () => socket.io.engine.on('upgrade', () => resolve()))
        socket.on('connect_error', reject)
        setTimeout(() => reject(new Error('socket.io never upgraded to websocket')), 5000)
      })
      expect(socket.io.engine.transport.name).toBe('websocket')
    } finally {
      socket.close()
    }
  })

  it('grants a peer id once: a second claim of the coordinator id is refused (mesh election)', async () => {
    const first = await brokerHello(relay, 'app-coordinator', 'tok1')
    sockets.push(first.socket)
    expect(first.type).toBe('OPEN')
    const second = await brokerHello(relay, 'app-coordinator', 'tok2')
    sockets.push(second.socket)
    expect(second.type).toBe('ID-TAKEN')
  })

  it('does not take over upgrades on other paths', async () => {
    const stray = new WebSocket(`ws://127.0.0.1:${relay.port}/nowhere`)
    const outcome = await new Promise<string>((resolve) => {
      stray.once('open', () => resolve('open'))
      stray.once('error', () => resolve('refused'))
    })
    expect(outcome).toBe('refused')
  })
})
